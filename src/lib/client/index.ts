// The client's public face: SSEClient, its types, and the context helpers that share one.
export { getSSEContext, setSSEContext } from './context.js';
export type {
	EventSourceConstructor,
	EventSourceLike,
	SSEClientErrorCode,
	SSEClientOptions,
	SSEEventMeta,
	SSEGap,
	SSEStatus,
	StandardSchemaLike,
	TopicHandler,
	TopicMap,
} from './sse-client.svelte.js';
export { SSEClient, SSEClientError } from './sse-client.svelte.js';
