// The server side of svelte-sse-kit: import from 'svelte-sse-kit/server' in server code only.
export type { CloseReason, SSEConnectionOptions } from './connection.js';
export { SSEConnection } from './connection.js';
export type { SchemaIssue, SSEErrorCode } from './errors.js';
export { SSEHubError, SSEValidationError } from './errors.js';
export type { MemoryHistoryOptions } from './history/memory.js';
export { memoryHistory } from './history/memory.js';
export type {
	AppendedEvent,
	AppendInput,
	HistoryStats,
	HistoryStore,
	LiveHandlers,
	ReadQuery,
	ReadResult,
	StoredEvent,
	SubscriptionRecord,
	TopicCursor,
} from './history/store.js';
export { createSSEHub } from './hub/hub.js';
export type { SessionCookieOptions } from './hub/request.js';
export type { SSESessionLocals } from './hub/session-handle.js';
export type {
	AuthorizeResult,
	HubLimits,
	HubStats,
	PublishOptions,
	SSEHub,
	SSEHubOptions,
} from './hub/types.js';
export type {
	Cleanup,
	Emit,
	Producer,
	ProduceSSEOptions,
	SSEMessage,
	TopicMap,
} from './produce-sse.js';
export { produceSSE, sseHeaders } from './produce-sse.js';
export type { Gap, GapReason, NewTopicHistory, ReplayInput, ReplayPlan } from './replay.js';
export { createEmitWithHistory, planReplay, replayMissedMessages } from './replay.js';
export type { TopicSafety } from './topic-safety.js';
export { analyzeTopicSafety, setTopicSubscription } from './topic-safety.js';
export type { EventPosition } from './wire.js';
export { formatEventId, parseEventId } from './wire.js';
