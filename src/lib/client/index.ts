// The client's public face: SSEClient, its types, defineTopics (no server code: the server
// imports it too), and the context helpers that share one client (all in the one copyable file,
// sse-client.svelte.ts).
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
	TopicMapOf,
	TopicsDefinition,
	TopicsOf,
} from './sse-client.svelte.js';
export {
	defineTopics,
	getSSEContext,
	SSEClient,
	SSEClientError,
	setSSEContext,
} from './sse-client.svelte.js';
