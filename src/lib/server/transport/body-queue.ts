// A response body as a queue of byte chunks: read directly through `getReader()` (what
// SvelteKit's Node adapter does with every body), or through the Web Streams machinery by any
// other consumer (another runtime, `pipeTo`, `tee`).
import { loadedAsyncHooks } from '../async-hooks.js';
import { concatBytes } from '../wire/index.js';

/** What the owner of a body hears back. */
export interface BodyHooks {
	/** The reader took queued bytes: there may be room for more. */
	taken(): void;
	/** The reader cancelled the body: the client went away. */
	cancelled(): void;
}

/** A read joins queued chunks up to this many bytes into one (fewer, larger socket writes). */
const MAX_READ_BYTES = 64 * 1024;
/**
 * Chunks this big are handed over as they are, never joined: they are usually shared by many
 * streams (a replay's slices, a tick's frames), and joining would copy them once per stream (ten
 * thousand copies of the same replay in a reconnect storm).
 */
const JOIN_BELOW = 4 * 1024;
/** Nothing is queued inside the Web Stream itself: this queue is the only one. */
const NO_QUEUE = new CountQueuingStrategy({ highWaterMark: 0 });

/**
 * The byte type a Node writer takes as it is. Node's writable streams wrap every chunk that is a
 * plain `Uint8Array` in a new `Buffer`, at every write: a tick's chunk written to ten thousand
 * streams would be wrapped ten thousand times. Where there is a `Buffer` (Node, Bun, Deno), a
 * chunk is wrapped once, when the first stream gets it (the streams of a tick get it one after
 * another), and the others get the same wrapper; elsewhere chunks stay as they are.
 */
const platformBytes = (globalThis as { Buffer?: typeof Buffer }).Buffer;
/**
 * The last chunk wrapped, and its wrapper, until the end of the current turn: kept longer, the
 * cache would hold a large chunk (a burst's frames, a replay slice) after every stream has let
 * go of it.
 */
let lastChunk: Uint8Array | undefined;
let lastWrapped: Uint8Array | undefined;
let forgetting = false;

function forgetLastChunk(): void {
	lastChunk = undefined;
	lastWrapped = undefined;
	forgetting = false;
}

function asPlatformBytes(chunk: Uint8Array): Uint8Array {
	if (!platformBytes || chunk instanceof platformBytes) return chunk;
	if (chunk !== lastChunk) {
		lastWrapped = platformBytes.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
		lastChunk = chunk;
		if (!forgetting) {
			forgetting = true;
			queueMicrotask(forgetLastChunk);
		}
	}
	return lastWrapped as Uint8Array;
}

/** A chunk of one stream's own (a join) as the platform's bytes, not kept for the next stream. */
function ownPlatformBytes(chunk: Uint8Array): Uint8Array {
	return platformBytes
		? platformBytes.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
		: chunk;
}

type ReadResult = ReadableStreamReadResult<Uint8Array>;
/** Settles a waiting read: with a result, or with a rejected promise to fail it. */
type SettleRead = (result: ReadResult | PromiseLike<ReadResult>) => void;
const DONE: ReadResult = { done: true, value: undefined };

/**
 * A waiting read lives until the next chunk, long enough for the garbage collector to copy it out
 * of the young generation (ten thousand streams, once per chunk), so it is kept small: one shared
 * executor rather than a closure per read, and only the promise's `resolve` is kept (a read is
 * failed by resolving it with a rejected promise).
 */
let newRead: SettleRead | undefined;
function keepResolve(resolve: SettleRead): void {
	newRead = resolve;
}

/**
 * The queue behind one response body. A `ReadableStream` read costs a read request, a pull and
 * several promises per chunk in Node; a server that sends one event to ten thousand clients pays
 * that ten thousand times. Reading this queue directly costs one promise per chunk, and a reader
 * that fell behind gets what waits joined into one chunk.
 */
export class BodyQueue implements UnderlyingDefaultSource<Uint8Array> {
	readonly stream: ReadableStream<Uint8Array>;
	readonly #hooks: BodyHooks;
	/** Chunks not taken yet, from `#head` on; made when the first one has to wait. */
	#chunks: Uint8Array[] | undefined;
	#head = 0;
	#bytes = 0;
	/** No more chunks will come: the reader gets `done` once it has taken what is queued. */
	#finished = false;
	/** Ended abruptly: what is queued is dropped and reads fail with this. */
	#failure: Error | undefined;
	/** A direct reader's read waiting for a chunk, and any after it (rare: readers read in turn). */
	#read: SettleRead | undefined;
	#moreReads: SettleRead[] | undefined;
	#controller!: ReadableStreamDefaultController<Uint8Array>;
	/** The Web Stream asked for a chunk (`pull`) and has not had one yet. */
	#streamWaiting = false;

	constructor(hooks: BodyHooks) {
		this.#hooks = hooks;
		// A plain stream given the prototype below, not a subclass instance: the same methods, and
		// less memory per stream (in Node, a subclass instance gets hidden classes of its own).
		const stream = outsideRequests
			? outsideRequests(() => new ReadableStream<Uint8Array>(this, NO_QUEUE))
			: new ReadableStream<Uint8Array>(this, NO_QUEUE);
		Object.setPrototypeOf(stream, BodyStream.prototype);
		queues.set(stream, this);
		this.stream = stream;
	}

	/** Bytes queued and not yet taken by the reader. */
	get bytes(): number {
		return this.#bytes;
	}

	/** Queues a chunk (or hands it to a waiting reader). Ignored once the body is finished. */
	push(bytes: Uint8Array): void {
		if (this.#finished || bytes.length === 0) return;
		const chunk = asPlatformBytes(bytes);
		if (this.#bytes === 0) {
			const read = this.#nextRead();
			if (read) {
				read({ done: false, value: chunk });
				return;
			}
			if (this.#streamWaiting) {
				this.#streamWaiting = false;
				this.#controller.enqueue(chunk);
				return;
			}
		}
		this.#chunks ??= [];
		this.#chunks.push(chunk);
		this.#bytes += chunk.length;
	}

	/** No more chunks: the reader gets what is queued, then the end. */
	finish(): void {
		if (this.#finished) return;
		this.#finished = true;
		if (this.#bytes === 0) this.#end();
	}

	/**
	 * Ends at once for a reader that is gone: what is queued is dropped and the body just ends,
	 * so a late `cancel()` (which Kit's `setResponse` makes without catching) resolves.
	 */
	discard(): void {
		if (this.#failure || (this.#finished && this.#bytes === 0)) return;
		this.#finished = true;
		this.#drop();
		this.#end();
	}

	/** Ends at once: what is queued is dropped, and the reader gets `error`. */
	fail(error: Error): void {
		if (this.#failure) return;
		this.#finished = true;
		this.#failure = error;
		this.#drop();
		this.#failReads(error);
		try {
			this.#controller.error(error);
		} catch {
			// Already closed or cancelled: nothing left to end.
		}
	}

	/** A direct reader's `read()`. */
	read(): Promise<ReadResult> {
		if (this.#failure) return Promise.reject(this.#failure);
		if (this.#bytes > 0) return Promise.resolve({ done: false, value: this.#take() });
		if (this.#finished) {
			this.#end();
			return Promise.resolve(DONE);
		}
		const read = new Promise<ReadResult>(keepResolve);
		const resolve = newRead as SettleRead;
		newRead = undefined;
		if (!this.#read) this.#read = resolve;
		else if (this.#moreReads) this.#moreReads.push(resolve);
		else this.#moreReads = [resolve];
		return read;
	}

	/** A direct reader let go: its waiting reads fail, as the Streams spec has it. */
	released(): void {
		this.#failReads(new TypeError('The reader was released.'));
	}

	// The Web Stream's underlying source.

	start(controller: ReadableStreamDefaultController<Uint8Array>): void {
		this.#controller = controller;
	}

	pull(): void {
		if (this.#bytes > 0) this.#controller.enqueue(this.#take());
		else if (this.#finished) this.#end();
		else this.#streamWaiting = true;
	}

	/** The reader (direct or not) cancelled: drop what is queued and tell the owner. */
	cancel(): void {
		const wasFinished = this.#finished;
		this.#finished = true;
		this.#drop();
		for (let read = this.#nextRead(); read; read = this.#nextRead()) read(DONE);
		if (!wasFinished) this.#hooks.cancelled();
	}

	/** The queued chunk at the head, with the small ones after a small one joined to it. */
	#take(): Uint8Array {
		const chunks = this.#chunks as Uint8Array[];
		const first = chunks[this.#head] as Uint8Array;
		let end = this.#head + 1;
		let size = first.length;
		if (size < JOIN_BELOW) {
			for (; end < chunks.length; end++) {
				const next = (chunks[end] as Uint8Array).length;
				if (next >= JOIN_BELOW || size + next > MAX_READ_BYTES) break;
				size += next;
			}
		}
		const value =
			end > this.#head + 1
				? ownPlatformBytes(concatBytes(chunks.slice(this.#head, end), size))
				: first;
		this.#head = end;
		this.#bytes -= size;
		if (this.#head === chunks.length) {
			this.#chunks = undefined;
			this.#head = 0;
		} else if (this.#head > 1024) {
			this.#chunks = chunks.slice(this.#head);
			this.#head = 0;
		}
		this.#hooks.taken();
		return value;
	}

	#nextRead(): SettleRead | undefined {
		const read = this.#read;
		this.#read = this.#moreReads?.shift();
		return read;
	}

	#failReads(error: unknown): void {
		for (let read = this.#nextRead(); read; read = this.#nextRead()) read(Promise.reject(error));
	}

	#drop(): void {
		this.#chunks = undefined;
		this.#head = 0;
		this.#bytes = 0;
	}

	/** Everything was taken after `finish()`: the reader gets the end. */
	#end(): void {
		if (this.#failure) return;
		for (let read = this.#nextRead(); read; read = this.#nextRead()) read(DONE);
		try {
			this.#controller.close();
		} catch {
			// Already closed or cancelled.
		}
	}
}

/**
 * Runs a function in the async context of the first body reader. A `ReadableStream` keeps the
 * async context it was made in for as long as it is open (in the promise of its own closing), and
 * a request's context holds every AsyncLocalStorage store of it: SvelteKit's, with the whole
 * `RequestEvent`, and `hub.handle`'s. That was about 5 KiB per idle stream through a built app.
 * SvelteKit's Node adapter reads a body after the handler has returned, outside the request's
 * stores, so the bodies made after the first read are made in that context instead.
 */
let outsideRequests: (<R>(fn: () => R) => R) | undefined;

function rememberReaderContext(): void {
	outsideRequests ??= loadedAsyncHooks()?.AsyncLocalStorage.snapshot?.();
}

/** Each stream's queue, looked up rather than stored on the stream (for the same reason). */
const queues = new WeakMap<ReadableStream<Uint8Array>, BodyQueue>();

/**
 * The prototype of every body stream (never constructed itself): a `ReadableStream` whose
 * default reader reads the queue directly.
 */
class BodyStream extends ReadableStream<Uint8Array> {
	override getReader(options: { mode: 'byob' }): ReadableStreamBYOBReader;
	override getReader(): ReadableStreamDefaultReader<Uint8Array>;
	override getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamReader<Uint8Array>;
	override getReader(options?: ReadableStreamGetReaderOptions): ReadableStreamReader<Uint8Array> {
		const queue = queues.get(this);
		if (options?.mode !== undefined || !queue) return super.getReader(options);
		rememberReaderContext();
		// Taken from the stream too, so the stream counts as locked and refuses a second reader.
		return new DirectReader(queue, super.getReader());
	}
}

/** A default reader of the queue, without the Web Streams machinery in between. */
class DirectReader implements ReadableStreamDefaultReader<Uint8Array> {
	#queue: BodyQueue | undefined;
	readonly #lock: ReadableStreamDefaultReader<Uint8Array>;

	constructor(queue: BodyQueue, lock: ReadableStreamDefaultReader<Uint8Array>) {
		this.#queue = queue;
		this.#lock = lock;
	}

	get closed(): Promise<undefined> {
		return this.#lock.closed.then(() => undefined);
	}

	read(): Promise<ReadResult> {
		if (!this.#queue) return Promise.reject(new TypeError('This reader has been released.'));
		return this.#queue.read();
	}

	cancel(reason?: unknown): Promise<void> {
		if (!this.#queue) return Promise.reject(new TypeError('This reader has been released.'));
		// Through the stream, so that it closes (and `closed` settles) as a cancelled stream does.
		return this.#lock.cancel(reason);
	}

	releaseLock(): void {
		if (!this.#queue) return;
		this.#queue.released();
		this.#queue = undefined;
		this.#lock.releaseLock();
	}
}
