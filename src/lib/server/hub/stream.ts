// HubStream: one open stream of the hub, what it registered in the store, and how it holds live
// events back while its replay (or a catch-up after the live feed was in doubt) is written.
import type { CursorRecord, StoredEvent } from '../history/index.js';
import type { SSEConnection } from '../transport/index.js';
import { joinFrames } from '../wire/index.js';
import type { HubCounters } from './counters.js';

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
	/** The position the stream stated at its start (where its cursor record begins). */
	position: number;
}

/** The cursor record `registration` stands for, up to position `to` (`null` while it is open). */
export function cursorRecordOf(
	registration: Registration,
	topics: readonly string[],
	to: number | null,
): CursorRecord {
	const { connection, client, added, position } = registration;
	return { connection, client, topics, added, from: position, to };
}

/** One open stream of the hub: what it listens to and how far it has been sent. */
export class HubStream {
	readonly session: string;
	/** Its topics, without repeats (an array: few, and cheaper to hold than a Set). */
	readonly topics: readonly string[];
	readonly connection: SSEConnection;
	/** The highest `seq` written; anything at or below it was already sent. */
	lastSeq = 0;
	/** Live events held back while the replay (or a catch-up) is written; `null` once live. */
	#pending: StoredEvent[] | null = [];
	/** Whether its replay is still being written. */
	#replaying = true;
	/** Called once the replay is written, if the shared feed is waiting for that. */
	#onReplayed: (() => void) | undefined;
	/** Whether the shared feed holds its live events until it has caught up (see `SharedFeed`). */
	#heldByFeed = false;

	/** Kept up to date by a catch-up that finds a new epoch. */
	readonly registration: Registration;
	/** The hub's, shared by its streams: what they write is counted there. */
	readonly #counters: HubCounters;

	constructor(
		session: string,
		topics: readonly string[],
		connection: SSEConnection,
		registration: Registration,
		counters: HubCounters,
	) {
		this.session = session;
		this.topics = topics;
		this.connection = connection;
		this.registration = registration;
		this.#counters = counters;
	}

	/**
	 * Writes events from history not sent yet as one chunk (Web Streams cost per chunk, so a
	 * replay goes out in slices rather than an event at a time); returns how many it wrote.
	 */
	sendAll(events: readonly StoredEvent[]): number {
		return this.#sendNew(events, true);
	}

	/** Writes, as one chunk, the events of `events` not sent yet; returns how many. */
	#sendNew(events: readonly StoredEvent[], fromHistory: boolean): number {
		let fresh: readonly StoredEvent[];
		if (events.length > 0 && (events[0] as StoredEvent).seq > this.lastSeq) {
			// They come in `seq` order: all of them are new (a replay's usual case), as they are.
			fresh = events;
			this.lastSeq = (events.at(-1) as StoredEvent).seq;
		} else {
			const newer: StoredEvent[] = [];
			for (const event of events) {
				if (event.seq > this.lastSeq) {
					newer.push(event);
					this.lastSeq = event.seq;
				}
			}
			fresh = newer;
		}
		if (fresh.length > 0 && this.connection.write(joinFrames(fresh))) {
			this.#counters.delivered += fresh.length;
			if (fromHistory) this.#counters.replayed += fresh.length;
		}
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
			if (this.connection.write(chunk)) this.#counters.delivered += events.length;
		} else {
			this.#sendNew(events, false);
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

	/** Whether the shared feed holds it: it owes a catch-up from history before going live. */
	get heldByFeed(): boolean {
		return this.#heldByFeed;
	}

	/**
	 * The shared feed may be missing events: live ones wait, even once the replay is written,
	 * until `releaseFeedHold` (what was already sent would not tell what the feed skipped).
	 */
	holdForFeed(): void {
		this.#heldByFeed = true;
		this.#pending ??= [];
	}

	/** Resolves once the replay is written (at once if it is), so a catch-up can follow it. */
	replayed(): Promise<void> {
		if (!this.#replaying) return Promise.resolve();
		return new Promise((resolve) => {
			const previous = this.#onReplayed;
			this.#onReplayed = () => {
				previous?.();
				resolve();
			};
		});
	}

	/** Ends the replay: sends what was held back, in order, then goes live (unless held by the feed). */
	goLive(): void {
		this.#replaying = false;
		const onReplayed = this.#onReplayed;
		this.#onReplayed = undefined;
		onReplayed?.();
		if (!this.#heldByFeed) this.#release();
	}

	/** The feed's catch-up is written: what was held goes out, then live (once the replay is written). */
	releaseFeedHold(): void {
		this.#heldByFeed = false;
		if (!this.#replaying) this.#release();
	}

	#release(): void {
		const pending = this.#pending ?? [];
		this.#pending = null;
		pending.sort((a, b) => a.seq - b.seq);
		this.#sendNew(pending, false); // one chunk, what was already sent left out
	}
}
