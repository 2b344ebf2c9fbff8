// The hub layer: `createSSEHub`, from a request to an open stream, and from `publish` to every stream.
export { createSSEHub } from './hub.js';
export type { SessionCookieOptions } from './request.js';
export type { SSESessionLocals } from './session-handle.js';
export type { Snapshot, SnapshotEvent, SnapshotOptions } from './snapshot.js';
export type {
	AuthorizeResult,
	HubLimits,
	HubStats,
	HubStreamOptions,
	PublishOptions,
	SSEHub,
	SSEHubOptions,
	TelemetryApi,
	TelemetryOption,
} from './types.js';
