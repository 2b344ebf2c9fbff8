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

	constructor(session: string, topics: readonly string[], connection: SSEConnection) {
		this.session = session;
		this.topics = new Set(topics);
		this.connection = connection;
	}

	/** Writes `event` unless it was already sent. */
	send(event: StoredEvent): void {
		if (event.seq <= this.lastSeq) return;
		this.lastSeq = event.seq;
		this.connection.write(encodeStored(event));
	}

	/** A live event: sent now, or held until the replay is over. */
	deliver(event: StoredEvent): void {
		if (this.#pending === null) {
			this.send(event);
		} else if (this.#pending.length < MAX_PENDING) {
			this.#pending.push(event);
		} else {
			this.#pending = [];
			this.connection.abort('slow-consumer');
		}
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
