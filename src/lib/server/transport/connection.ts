// SSEConnection: one SSE response body, with keep-alive comments, a limit on what a client leaves
// unread, writes paced by the client, and a cleanup that runs exactly once however it ends.
import { SSEConfigError } from '../errors.js';
import { encodeRetry } from '../wire/index.js';
import { type BodyHooks, BodyQueue } from './body-queue.js';
import { joinKeepAlive, leaveKeepAlive } from './keep-alive.js';

/** How a connection ended; given to cleanup callbacks. */
export type CloseReason =
	/** The client went away: the body stream was cancelled or the request aborted. */
	| 'client'
	/** Server code closed it (the producer, `hub.close()`, a shutdown signal). */
	| 'server'
	/** The client did not read and its unread bytes passed `maxBufferedBytes`. */
	| 'slow-consumer'
	/** Something threw while producing the stream. */
	| 'error';

export interface SSEConnectionOptions {
	/**
	 * Interval of `: keep-alive` comments, so proxies and load balancers do not close an idle
	 * stream (streams with the same interval share one timer, so the first comes within it).
	 * `0` turns them off.
	 * @default 15000
	 */
	keepAliveMs?: number;
	/**
	 * The `retry:` hint sent first ([spec] the browser's reconnection time): how long a browser
	 * waits before it reconnects by itself.
	 * @default 3000
	 */
	retryMs?: number;
	/**
	 * Bytes a client may leave unread before its connection is dropped. A client that stops
	 * reading would otherwise grow the server's memory without bound; once dropped, it comes
	 * back with its Last-Event-ID and is replayed at its own pace.
	 * @default 4 MiB
	 */
	maxBufferedBytes?: number;
	/** Called once when a connection is dropped for not reading. */
	onSlowConsumer?: (info: { bufferedBytes: number; limit: number }) => void;
	/** The request's `signal`: its abort ends the stream (some adapters abort instead of cancelling). */
	signal?: AbortSignal;
}

export const DEFAULT_KEEP_ALIVE_MS = 15_000;
export const DEFAULT_RETRY_MS = 3_000;
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
/**
 * Unread bytes under which a connection has room for more. Paced writers (`ready()`, used by
 * replay) stay under it; live writes may go past it up to `maxBufferedBytes`.
 */
const HIGH_WATER_MARK = 64 * 1024;

const encoder = new TextEncoder();
const retryChunks = new Map<number, Uint8Array>();

/**
 * The `retry:` line as bytes, shared by the streams that send the same one (a hub's jittered
 * hints come in 50 ms steps: a few dozen values).
 */
function retryChunk(retryMs: number): Uint8Array {
	let chunk = retryChunks.get(retryMs);
	if (!chunk) {
		chunk = encoder.encode(encodeRetry(retryMs));
		if (retryChunks.size < 256) retryChunks.set(retryMs, chunk);
	}
	return chunk;
}

/**
 * What an abrupt end errors the stream with (a client that left gets a plain end). Made once: a
 * reconnect storm closes thousands of streams, and a fresh Error (with its stack) for each is
 * measurable garbage.
 */
const ENDED: Record<Exclude<CloseReason, 'client'>, Error> = {
	server: new Error('SSE stream ended: server'),
	'slow-consumer': new Error('SSE stream ended: slow-consumer'),
	error: new Error('SSE stream ended: error'),
};

type Hooks = BodyHooks & EventListenerObject & { connection: SSEConnection };

/**
 * One SSE response body: a byte stream with keep-alive, a buffer limit, demand-paced writes and
 * cleanup that runs exactly once however the stream ends. It knows nothing of topics or history;
 * `produceSSE` and the hub build on it.
 */
export class SSEConnection {
	/** The response body. */
	readonly stream: ReadableStream<Uint8Array>;

	// Ten thousand open streams hold ten thousand of these: what is not always needed is made
	// when it is (the signal, the waiter and cleanup lists), and options are not kept whole.
	#body: BodyQueue;
	#closed = false;
	#reason: CloseReason = 'server';
	#ended: AbortController | undefined;
	#keepAliveMs: number;
	#cleanups: Array<(reason: CloseReason) => void> | undefined;
	#demand: Array<() => void> | undefined;
	#maxBufferedBytes: number;
	#onSlowConsumer: SSEConnectionOptions['onSlowConsumer'];
	/**
	 * Held weakly: Kit's `request.signal` only aborts while its Request is alive (undici keeps
	 * the controller behind it on the Request), so holding the signal alone would cost an
	 * EventTarget per stream and not keep the abort working. The body's `cancel` is what ends
	 * a stream on adapter-node; the signal is the fallback where a platform aborts instead.
	 */
	#requestSignal: WeakRef<AbortSignal> | undefined;
	/** What the body and the request's signal call back. */
	#hooks: Hooks;

	/**
	 * The methods of every connection's hooks, shared: the hooks of a connection are one small
	 * object instead of three closures and their context (ten thousand streams, ten thousand
	 * of each).
	 */
	static readonly #hookMethods: ThisType<Hooks> & Omit<Hooks, 'connection'> = {
		taken() {
			if (this.connection.hasRoom) this.connection.#release();
		},
		cancelled() {
			this.connection.#end('client');
		},
		// The request's abort (an `EventListenerObject`, so no closure is needed for it either).
		handleEvent() {
			this.connection.#end('client');
		},
	};

	constructor(options: SSEConnectionOptions = {}) {
		this.#maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
		if (!(this.#maxBufferedBytes > 0))
			throw new SSEConfigError('maxBufferedBytes must be positive.');
		this.#onSlowConsumer = options.onSlowConsumer;
		const keepAliveMs = options.keepAliveMs ?? DEFAULT_KEEP_ALIVE_MS;
		// Past 2^31-1 ms Node fires an interval every millisecond: refuse it rather than flood.
		if (!(keepAliveMs >= 0 && keepAliveMs <= 2 ** 31 - 1)) {
			throw new SSEConfigError(`keepAliveMs must be 0 (off) to 2147483647, got ${keepAliveMs}.`);
		}
		this.#keepAliveMs = keepAliveMs;
		const retry = retryChunk(options.retryMs ?? DEFAULT_RETRY_MS);

		this.#hooks = Object.assign(Object.create(SSEConnection.#hookMethods), { connection: this });
		this.#body = new BodyQueue(this.#hooks);
		this.stream = this.#body.stream;
		this.#body.push(retry);

		if (keepAliveMs > 0) joinKeepAlive(keepAliveMs, this);
		const signal = options.signal;
		if (signal?.aborted) this.#end('client');
		else if (signal) {
			this.#requestSignal = new WeakRef(signal);
			signal.addEventListener('abort', this.#hooks, { once: true });
		}
	}

	/** Aborts when the connection ends, whatever the reason (with the reason). */
	get signal(): AbortSignal {
		if (!this.#ended) {
			this.#ended = new AbortController();
			if (this.#closed) this.#ended.abort(this.#reason);
		}
		return this.#ended.signal;
	}

	get closed(): boolean {
		return this.#closed;
	}

	/** Bytes written but not yet taken by the client. */
	get bufferedBytes(): number {
		return this.#closed ? 0 : this.#body.bytes;
	}

	/**
	 * Queues bytes for the client. Returns `false` (and writes nothing) once the connection is
	 * closed; never throws. Drops the connection when the client has left too much unread.
	 */
	write(chunk: string | Uint8Array): boolean {
		if (this.#closed) return false;
		this.#body.push(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
		const buffered = this.bufferedBytes;
		if (buffered > this.#maxBufferedBytes) {
			try {
				this.#onSlowConsumer?.({ bufferedBytes: buffered, limit: this.#maxBufferedBytes });
			} catch (error) {
				// `write` never throws: a failing hook must not leave the connection open and growing.
				console.error('[svelte-sse-kit] onSlowConsumer threw:', error);
			}
			this.#end('slow-consumer');
			return false;
		}
		return true;
	}

	/** Whether the client has room for more before the high-water mark (paced writers check it). */
	get hasRoom(): boolean {
		return !this.#closed && this.#body.bytes < HIGH_WATER_MARK;
	}

	/**
	 * Resolves when the client has room for more (its unread bytes are under the high-water
	 * mark), or at once when the connection is closed. Writers of long sequences, such as a
	 * replay, await it between chunks so they go at the pace the client reads.
	 */
	ready(): Promise<void> {
		if (this.#closed || this.hasRoom) return Promise.resolve();
		return new Promise((resolve) => {
			this.#demand ??= [];
			this.#demand.push(resolve);
		});
	}

	/** Runs `fn` once when the connection ends (at once if it already has). */
	onClose(fn: (reason: CloseReason) => void): void {
		if (this.#closed) {
			runCleanup(fn, this.#reason);
			return;
		}
		// Usually the only one: an array of one, not one pushed onto (which grows to 17 slots).
		if (this.#cleanups) this.#cleanups.push(fn);
		else this.#cleanups = [fn];
	}

	/** Ends the stream after what is queued has been delivered. */
	close(): void {
		this.#end('server', true);
	}

	/** Ends the stream at once, discarding what is queued. */
	abort(reason: CloseReason = 'error'): void {
		this.#end(reason, false);
	}

	#release(): void {
		const waiting = this.#demand; // usually none
		if (!waiting) return;
		this.#demand = undefined;
		for (const resolve of waiting) resolve();
	}

	#end(reason: CloseReason, graceful = false): void {
		if (this.#closed) return;
		this.#closed = true;
		this.#reason = reason;
		if (this.#keepAliveMs > 0) leaveKeepAlive(this.#keepAliveMs, this);
		this.#requestSignal?.deref()?.removeEventListener('abort', this.#hooks);
		this.#requestSignal = undefined;
		// A graceful end delivers what is queued; any other end frees it now. A client that left
		// reads nothing more: its body just ends. The others are errored, so the adapter drops the
		// socket at once instead of writing what is queued.
		if (graceful) this.#body.finish();
		else if (reason === 'client') this.#body.discard();
		else this.#body.fail(ENDED[reason]);
		this.#release();
		this.#ended?.abort(reason);
		const cleanups = this.#cleanups ?? [];
		this.#cleanups = undefined;
		for (const cleanup of cleanups) runCleanup(cleanup, reason);
	}
}

function runCleanup(cleanup: (reason: CloseReason) => void, reason: CloseReason): void {
	try {
		cleanup(reason);
	} catch (error) {
		// One failing cleanup must not skip the others, nor crash the server from a stream callback
		// (or, run late by `onClose`, from the promise of an async producer).
		console.error('[svelte-sse-kit] an SSE cleanup callback threw:', error);
	}
}
