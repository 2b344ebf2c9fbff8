// The client layer's face: the one copyable file, sse-client.svelte.ts, holds all of it.
export type {
	EventSourceConstructor,
	EventSourceLike,
	SSEClientErrorCode,
	SSEClientOptions,
	SSEEventMeta,
	SSEGap,
	SSESharing,
	SSEStatus,
	StandardSchemaLike,
	TopicHandler,
	TopicMap,
} from './sse-client.svelte.js';
export { getSSEContext, SSEClient, SSEClientError, setSSEContext } from './sse-client.svelte.js';
