// Test support for the SSE server tests: a browser-like reader of a response body (read as fast,
// or as slowly, as a test asks), and the transport helpers the suites share. Not exported from any
// index, and left out of the package.
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { vi } from 'vitest';
import type { CloseReason, SSEConnection } from '../server/transport/index.js';
import {
	type Cleanup,
	type Emit,
	type ProduceSSEOptions,
	produceSSE,
	type TopicMap,
	type TopicMapOf,
} from '../server/transport/index.js';

export const RETRY = 'retry: 3000\n\n';
export const KiB = 1024;

/** How long `readUntil` waits for the next chunk before it gives up on the stream. */
const STALL_MS = 5_000;

/**
 * Reads a body as a browser would: bytes → UTF-8 → WHATWG SSE parser. Only when asked to: the
 * stream's own queue is then the only buffer, so a test sets the pace the client reads at.
 */
export function sseClient(source: Response | ReadableStream<Uint8Array>) {
	const body = source instanceof Response ? source.body : source;
	if (!body) throw new Error('the response has no body');
	const reader = body.getReader();
	const decoder = new TextDecoder();
	const events: EventSourceMessage[] = [];
	const comments: string[] = [];
	const retries: number[] = [];
	const parseErrors: Error[] = [];
	const bytes: Uint8Array[] = [];
	let text = '';
	const parser = createParser({
		onEvent: (event) => events.push(event),
		onComment: (comment) => comments.push(comment),
		onRetry: (retry) => retries.push(retry),
		onError: (error) => parseErrors.push(error),
	});

	/** Reads one chunk; `false` once the stream has ended. Rejects if the stream was errored. */
	async function pump(): Promise<boolean> {
		const { done, value } = await reader.read();
		if (done) return false;
		bytes.push(value);
		const chunk = decoder.decode(value, { stream: true });
		text += chunk;
		parser.feed(chunk);
		return true;
	}

	/** Like `pump`, but rejects when nothing comes for `stallMs`. */
	async function pumpWithin(stallMs: number): Promise<boolean> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		const stalled = new Promise<never>((_, reject) => {
			timer = setTimeout(() => {
				reject(new Error(`no data for ${stallMs} ms after ${events.length} events`));
			}, stallMs);
		});
		return Promise.race([pump(), stalled]).finally(() => clearTimeout(timer));
	}

	/**
	 * Reads until `enough()`. With `stallMs`, gives up when nothing comes for that long; without,
	 * sets no timer (tests with fake timers count them, and advancing them would fire it).
	 */
	async function until(enough: () => boolean, what: string, stallMs?: number): Promise<void> {
		while (!enough()) {
			const more = stallMs === undefined ? await pump() : await pumpWithin(stallMs);
			if (!more) {
				throw new Error(
					`the stream ended before ${what}, after ${events.length} events; got ${text.slice(-2000)}`,
				);
			}
		}
	}

	return {
		events,
		comments,
		retries,
		parseErrors,
		bytes,
		get text() {
			return text;
		},
		pump,
		/** The first `n` events, reading as much as needed. */
		async read(n: number): Promise<EventSourceMessage[]> {
			await until(() => events.length >= n, `${n} events`);
			return events.slice(0, n);
		},
		async readComments(n: number): Promise<string[]> {
			await until(() => comments.length >= n, `${n} comments`);
			return comments.slice(0, n);
		},
		/**
		 * Reads until `enough()` holds (it looks at `events`, say); rejects if the stream ends
		 * first or sends nothing for `stallMs` (a hub that stopped sending fails fast and says so).
		 */
		readUntil(enough: () => boolean, what = 'the awaited events', stallMs = STALL_MS) {
			return until(enough, what, stallMs);
		},
		/** Reads until the stream ends; rejects if it was errored. */
		async readToEnd(): Promise<void> {
			while (await pump());
		},
		/** Reads until the stream ends or errors, and says which. */
		async drain(): Promise<'ended' | 'errored'> {
			try {
				while (await pump());
				return 'ended';
			} catch {
				return 'errored';
			}
		},
		cancel: () => reader.cancel(),
	};
}

/** A produceSSE response whose producer hands out its emit and connection. */
export function open<Topics extends TopicMapOf<Topics> = TopicMap>(
	options: ProduceSSEOptions = {},
) {
	let emit!: Emit<Topics>;
	let connection!: SSEConnection;
	const cleanup = vi.fn<Cleanup>();
	const response = produceSSE<Topics>((e, c) => {
		emit = e;
		connection = c;
		return cleanup;
	}, options);
	return { response, emit, connection, cleanup, client: sseClient(response) };
}

/** Writes 1 KiB chunks that nobody reads until `bytes` are queued. */
export function fill(connection: SSEConnection, bytes: number): void {
	for (let i = 0; connection.bufferedBytes < bytes; i++) {
		if (i > bytes / KiB) throw new Error(`bufferedBytes stuck at ${connection.bufferedBytes}`);
		connection.write(new Uint8Array(KiB));
	}
}

/** Lets every pending promise callback run (real timers only). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

export type Ending = {
	name: string;
	reason: CloseReason;
	end: (opened: ReturnType<typeof open>, request: AbortController) => unknown;
};

/** Every way a stream can end, with the reason its cleanup is given. */
export const endings: Ending[] = [
	{ name: 'the client cancels the body', reason: 'client', end: ({ client }) => client.cancel() },
	{ name: 'the request signal aborts', reason: 'client', end: (_, request) => request.abort() },
	{ name: 'the producer closes', reason: 'server', end: ({ connection }) => connection.close() },
	{ name: 'the server aborts', reason: 'error', end: ({ connection }) => connection.abort() },
	{
		name: 'the client is too slow',
		reason: 'slow-consumer',
		end: ({ connection }) => connection.abort('slow-consumer'),
	},
];
