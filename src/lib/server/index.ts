// The server side of svelte-sse-kit: import from 'svelte-sse-kit/server' in server code only.
// Grouped by layer, bottom up; each layer's own index.ts is its face to the layers above it.

// The topics, defined once for the hub and the client (from the client file, which has no server code).
export type {
	StandardSchemaLike,
	TopicMapOf,
	TopicsDefinition,
	TopicsOf,
} from '../client/sse-client.svelte.js';
export { defineTopics } from '../client/sse-client.svelte.js';
// Errors, shared by the layers.
export type { SchemaIssue, SSEErrorCode, SSEHubErrorCode } from './errors.js';
export { SSEConfigError, SSEHubError, SSEValidationError } from './errors.js';
// History: where events are kept (Redis: 'svelte-sse-kit/server/redis').
export type {
	AppendedEvent,
	AppendInput,
	CursorRecord,
	HistoryBounds,
	HistoryStats,
	HistoryStore,
	LiveHandlers,
	MemoryHistoryOptions,
	ReadQuery,
	ReadResult,
	SeedHistoryStore,
	StoredEvent,
	SubscriptionRecord,
	TopicCursor,
} from './history/index.js';
export { memoryHistory } from './history/index.js';
// Hub: one endpoint, many topics, history, sessions and fan-out.
export type {
	AuthorizeResult,
	HubLimits,
	HubStats,
	HubStreamOptions,
	PublishOptions,
	SessionCookieOptions,
	Snapshot,
	SnapshotEvent,
	SnapshotOptions,
	SSEHub,
	SSEHubOptions,
	SSESessionLocals,
	TelemetryApi,
	TelemetryOption,
} from './hub/index.js';
export { createSSEHub } from './hub/index.js';
// The same refusals as SvelteKit's `fail` (form actions) and `error` (endpoints, `load`).
export type { SSEIssue, SSERefusal } from './kit-errors.js';
export { actionFailure, httpError } from './kit-errors.js';
// Replay: what a client missed.
export type {
	Gap,
	GapReason,
	InitialHistory,
	NewTopicHistory,
	PlanReplayInput,
	ReplayInput,
	ReplayPlan,
	SSEGap,
	SSEGapReason,
	TopicSafety,
} from './replay/index.js';
export {
	analyzeTopicSafety,
	createEmitWithHistory,
	DEFAULT_INITIAL_HISTORY,
	planReplay,
	replayMissedMessages,
	setTopicSubscription,
} from './replay/index.js';
// Transport: a typed SSE `Response`.
export type {
	Cleanup,
	CloseReason,
	Emit,
	Producer,
	ProduceSSEOptions,
	SSEConnectionOptions,
	SSEMessage,
	TopicMap,
} from './transport/index.js';
export { produceSSE, SSEConnection, sseHeaders } from './transport/index.js';
// Wire: the SSE format as pure functions.
export type { EventPosition } from './wire/index.js';
export { formatEventId, parseEventId } from './wire/index.js';
