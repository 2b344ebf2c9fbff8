// The transport layer: a typed SSE `Response` (Web Streams only), its keep-alive and its teardown.
export {
	type CloseReason,
	DEFAULT_KEEP_ALIVE_MS,
	DEFAULT_MAX_BUFFERED_BYTES,
	DEFAULT_RETRY_MS,
	SSEConnection,
	type SSEConnectionOptions,
} from './connection.js';
export {
	type Cleanup,
	type Emit,
	type Producer,
	type ProduceSSEOptions,
	produceSSE,
	responseHeaders,
	type SSEMessage,
	sseHeaders,
	type TopicMap,
	type TopicMapOf,
} from './produce-sse.js';
export { closeOnShutdown } from './shutdown.js';
