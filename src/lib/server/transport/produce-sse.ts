// produceSSE: a typed Server-Sent Events `Response` for a `+server.ts`, on one SSEConnection.
// The client file declares the topic map (it must stay self-contained); both sides use that one.
import type { TopicMap, TopicMapOf } from '../../client/sse-client.svelte.js';
import { encodeEvent } from '../wire/index.js';
import { type CloseReason, SSEConnection, type SSEConnectionOptions } from './connection.js';

export type { TopicMap, TopicMapOf };

/** One event of a topic map, with `event` and `data` kept in step. */
export type SSEMessage<Topics extends TopicMapOf<Topics>> = {
	[K in keyof Topics & string]: { event: K; data: Topics[K]; id?: string };
}[keyof Topics & string];

/**
 * Sends one event. Returns `false` once the stream is closed (it never throws then, so a timer
 * racing a disconnect is harmless). Throws a `TypeError`, before writing anything, for an event
 * name or id that could break the frame, or data that JSON cannot carry.
 */
export type Emit<Topics extends TopicMapOf<Topics>> = (message: SSEMessage<Topics>) => boolean;

/** Runs once when the stream ends, with the reason. */
export type Cleanup = (reason: CloseReason) => void;

/**
 * Starts producing events. Return a cleanup (or a promise of one); it runs exactly once,
 * whether the client goes away, `connection.close()` is called, or the server shuts down.
 */
export type Producer<Topics extends TopicMapOf<Topics>> = (
	emit: Emit<Topics>,
	connection: SSEConnection,
	// biome-ignore lint/suspicious/noConfusingVoidType: a producer with nothing to clean up returns nothing.
) => Cleanup | void | Promise<Cleanup | void>;

export interface ProduceSSEOptions extends SSEConnectionOptions {
	/** Extra response headers (a `Set-Cookie`, CORS). The SSE headers themselves are fixed. */
	headers?: HeadersInit;
}

/**
 * The headers of the protocol. `X-Accel-Buffering: no` keeps nginx from buffering the stream,
 * and there is no `Connection` header: HTTP/2 forbids it and Safari drops such streams.
 */
const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
	// [spec] `text/event-stream`, always UTF-8.
	'Content-Type': 'text/event-stream; charset=utf-8',
	'Cache-Control': 'no-cache, no-transform',
	'X-Accel-Buffering': 'no',
});

const PROTOCOL_NAMES = new Set(Object.keys(SSE_HEADERS).map((name) => name.toLowerCase()));

/** The protocol's headers, with `extra` (which cannot override them). */
export function sseHeaders(extra?: HeadersInit): Headers {
	const headers = new Headers(extra);
	for (const [name, value] of Object.entries(SSE_HEADERS)) headers.set(name, value);
	return headers;
}

/**
 * `sseHeaders` for a `Response`: a plain record stays one (the hub's `Set-Cookie` of a new
 * session), since a `Headers` object costs a stream request more to make than the Response's own
 * filling from a record.
 */
export function responseHeaders(extra?: HeadersInit): HeadersInit {
	if (!extra) return SSE_HEADERS;
	if (extra instanceof Headers || Array.isArray(extra)) return sseHeaders(extra);
	const headers: Record<string, string> = {};
	for (const [name, value] of Object.entries(extra)) {
		if (!PROTOCOL_NAMES.has(name.toLowerCase())) headers[name] = value;
	}
	return Object.assign(headers, SSE_HEADERS);
}

/**
 * A typed Server-Sent Events `Response` for a SvelteKit `+server.ts` (Web Streams only, so it
 * runs on any adapter).
 *
 * ```ts
 * export const GET = ({ request }) =>
 *   produceSSE<{ tick: number }>((emit) => {
 *     const timer = setInterval(() => emit({ event: 'tick', data: Date.now() }), 1000);
 *     return () => clearInterval(timer);
 *   }, { signal: request.signal });
 * ```
 */
export function produceSSE<Topics extends TopicMapOf<Topics> = TopicMap>(
	producer: Producer<Topics>,
	options: ProduceSSEOptions = {},
): Response {
	const connection = new SSEConnection(options);
	const emit: Emit<Topics> = (message) => {
		if (connection.closed) return false;
		return connection.write(encodeEvent(message.event, message.data, message.id));
	};
	let started: ReturnType<Producer<Topics>>;
	try {
		started = producer(emit, connection);
	} catch (error) {
		// No one will ever read this stream: end it so its keep-alive timer and cleanups do not leak.
		connection.abort('error');
		throw error;
	}
	if (started instanceof Promise) {
		started.then(
			(cleanup) => {
				if (cleanup) connection.onClose(cleanup);
			},
			(error: unknown) => {
				console.error('[svelte-sse-kit] the SSE producer failed:', error);
				connection.abort('error');
			},
		);
	} else if (started) {
		connection.onClose(started);
	}
	return new Response(connection.stream, { headers: responseHeaders(options.headers) });
}
