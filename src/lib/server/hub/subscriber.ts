import type { SSEConnection } from '../connection.js';
import type { StoredEvent } from '../history/store.js';
import { joinFrames } from './frames.js';

/**
 * Live events that arrive while a replay is still being written wait here (a replay can be
 * long, at the pace of a slow client). Past this many, the client cannot keep up: its
 * connection is dropped and it resumes later from its Last-Event-ID.
 */
const MAX_PENDING = 10_000;

/**
 * What an open stream registered in the store: the epoch its positions count in (so that a resync
 * can tell a restarted store) and what its cursor record says.
 */
export interface Registration {
	connection: string;
	client: string | undefined;
	epoch: string;
	/** Topics given their history on this stream. */
	added: readonly string[];
	from: number;
	/** The position the stream stated at its start. */
	position: number;
}

/** One open stream of the hub: what it listens to and how far it has been sent. */
export class Subscriber {
	readonly session: string;
	/** Its topics, without repeats (an array: few, and cheaper to hold than a Set). */
	readonly topics: readonly string[];
	readonly connection: SSEConnection;
	/** The highest `seq` written; anything at or below it was already sent. */
	lastSeq = 0;
	/** Live events held back while the replay is written; `null` once live. */
	#pending: StoredEvent[] | null = [];

	/** Kept up to date by a catch-up that finds a new epoch. */
	readonly registration: Registration;

	constructor(
		session: string,
		topics: readonly string[],
		connection: SSEConnection,
		registration: Registration,
	) {
		this.session = session;
		this.topics = topics;
		this.connection = connection;
		this.registration = registration;
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
		if (fresh.length > 0) this.connection.write(joinFrames(fresh));
		return fresh.length;
	}

	/**
	 * This tick's live events for this stream, with `chunk` their frames already joined (shared
	 * with the other streams that get the same events). Held back while a replay is written;
	 * what was already sent is left out.
	 */
	writeLive(events: readonly StoredEvent[], chunk: Uint8Array): void {
		if (this.#pending !== null) {
			for (const event of events) this.#hold(event);
			return;
		}
		if ((events[0] as StoredEvent).seq > this.lastSeq) {
			// The usual case: all of it is new, so the shared bytes go out as they are.
			this.lastSeq = (events.at(-1) as StoredEvent).seq;
			this.connection.write(chunk);
		} else {
			this.sendAll(events);
		}
	}

	#hold(event: StoredEvent): void {
		if (this.#pending === null) return;
		if (this.#pending.length < MAX_PENDING) {
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
		this.sendAll(pending); // one chunk, what was already sent left out
	}
}
