import type { SSEConnection } from '../connection.js';
import type { StoredEvent } from '../history/store.js';
import { frame } from '../wire.js';

const encoder = new TextEncoder();

/**
 * Encoded frames, one per stored event, shared by every connection that sends it: a publish
 * is encoded once, not once per subscriber.
 */
const frames = new WeakMap<StoredEvent, Uint8Array>();

export function encodeStored(event: StoredEvent): Uint8Array {
	let bytes = frames.get(event);
	if (!bytes) {
		bytes = encoder.encode(frame(event.topic, event.data, event.id));
		frames.set(event, bytes);
	}
	return bytes;
}

/** The frames of `events` as one chunk. */
function concatFrames(events: readonly StoredEvent[]): Uint8Array {
	const frames = events.map(encodeStored);
	const chunk = new Uint8Array(frames.reduce((total, frame) => total + frame.length, 0));
	let offset = 0;
	for (const frame of frames) {
		chunk.set(frame, offset);
		offset += frame.length;
	}
	return chunk;
}

/**
 * Live events that arrive while a replay is still being written wait here (a replay can be
 * long, at the pace of a slow client). Past this many, the client cannot keep up: its
 * connection is dropped and it resumes later from its Last-Event-ID.
 */
const MAX_PENDING = 10_000;

/** One open stream of the hub: what it listens to and how far it has been sent. */
export class Subscriber {
	readonly session: string;
	readonly topics: ReadonlySet<string>;
	readonly connection: SSEConnection;
	/** The highest `seq` written; anything at or below it was already sent. */
	lastSeq = 0;
	/** Live events held back while the replay is written; `null` once live. */
	#pending: StoredEvent[] | null = [];
	/** Live events of the current tick, written together by `flush`. */
	#outbox: StoredEvent[] = [];
	/** The seqs of `#outbox`, the key under which connections share one tick's chunk. */
	#outboxKey = '';

	constructor(session: string, topics: readonly string[], connection: SSEConnection) {
		this.session = session;
		this.topics = new Set(topics);
		this.connection = connection;
	}

	/**
	 * Writes the events not sent yet as one chunk (Web Streams cost per chunk, so a replay goes
	 * out in slices rather than an event at a time); returns how many it wrote.
	 */
	sendAll(events: readonly StoredEvent[]): number {
		const fresh: StoredEvent[] = [];
		for (const event of events) {
			if (event.seq > this.lastSeq) {
				fresh.push(event);
				this.lastSeq = event.seq;
			}
		}
		if (fresh.length === 1) this.connection.write(encodeStored(fresh[0] as StoredEvent));
		else if (fresh.length > 1) this.connection.write(concatFrames(fresh));
		return fresh.length;
	}

	/** Writes `event` unless it was already sent. */
	send(event: StoredEvent): void {
		if (event.seq <= this.lastSeq) return;
		this.lastSeq = event.seq;
		this.connection.write(encodeStored(event));
	}

	/**
	 * A live event: queued for this tick's chunk (returns `true`: the caller flushes the tick),
	 * or held until the replay is over (returns `false`).
	 */
	deliver(event: StoredEvent): boolean {
		if (this.#pending === null) {
			// Kept strictly ascending, so a flush can take the outbox as it is.
			const last = this.#outbox.at(-1);
			if (last && event.seq <= last.seq) return false;
			this.#outbox.push(event);
			this.#outboxKey += `${event.seq},`; // built as events come: no array or join per flush
			return true;
		}
		if (this.#pending.length < MAX_PENDING) {
			this.#pending.push(event);
		} else {
			this.#pending = [];
			this.connection.abort('slow-consumer');
		}
		return false;
	}

	/**
	 * Writes this tick's live events as one chunk. The cost of a Web Stream is per chunk, not per
	 * byte, so a burst goes out in one write per connection; `chunks` shares the bytes between
	 * connections that get the same events.
	 */
	flush(chunks: Map<string, Uint8Array>): void {
		const queued = this.#outbox;
		this.#outbox = [];
		if (queued.length === 0) return;
		if (this.#pending !== null) {
			this.#outboxKey = '';
			// A catch-up started since: these go after it, with the rest held back.
			for (const event of queued) this.deliver(event);
			return;
		}
		const key = this.#outboxKey;
		this.#outboxKey = '';
		// Live events come in seq order, so normally all are new and `key` names them as they are.
		const fresh =
			(queued[0] as StoredEvent).seq > this.lastSeq
				? queued
				: queued.filter((e) => e.seq > this.lastSeq);
		if (fresh.length === 0) return;
		this.lastSeq = (fresh.at(-1) as StoredEvent).seq;
		if (fresh.length === 1) {
			this.connection.write(encodeStored(fresh[0] as StoredEvent));
			return;
		}
		const chunkKey = fresh === queued ? key : fresh.map((event) => event.seq).join(',');
		let chunk = chunks.get(chunkKey);
		if (!chunk) {
			chunk = concatFrames(fresh);
			chunks.set(chunkKey, chunk);
		}
		this.connection.write(chunk);
	}

	/** Whether live events go straight out (no replay or catch-up is being written). */
	get live(): boolean {
		return this.#pending === null;
	}

	/** Holds live events back while history is written again (a catch-up after a resync). */
	holdLive(): void {
		this.#pending ??= [];
	}

	/** Ends the replay: sends what was held back, in order, then goes live. */
	goLive(): void {
		const pending = this.#pending ?? [];
		this.#pending = null;
		pending.sort((a, b) => a.seq - b.seq);
		for (const event of pending) this.send(event);
	}
}
