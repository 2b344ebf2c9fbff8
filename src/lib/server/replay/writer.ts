// Writing history into an open stream at the client's pace: a new stream's replay, a catch-up.
import {
	type HistoryStore,
	type StoredEvent,
	syncReadsOf,
	type TopicCursor,
} from '../history/index.js';
import type { SSEConnection } from '../transport/index.js';
import { encodeControl, encodePosition, formatEventId, frameLength } from '../wire/index.js';
import { cursorsAfter, DEFAULT_PAGE_SIZE } from './missed.js';
import type { ReplayPlan, SSEGapReason } from './plan.js';

/** The open stream a replay is written into (the hub's `HubStream`). */
export interface ReplayTarget {
	readonly session: string;
	readonly connection: SSEConnection;
	/** The highest `seq` written; anything at or below it was already sent. */
	lastSeq: number;
	/** Writes the events not sent yet as one chunk; returns how many it wrote. */
	sendAll(events: readonly StoredEvent[]): number;
	/** The replay is written: what was held back goes out, then live events. */
	goLive(): void;
}

/**
 * Frames per replay write, in `frameLength` units (bytes for ASCII, up to three times as many
 * otherwise): well under the stream's high-water mark either way, so pacing holds.
 */
const SLICE_LENGTH = 16 * 1024;

/** Where the slice of `events` from `start` ends: about `SLICE_LENGTH` of frames. */
function sliceEnd(events: readonly StoredEvent[], start: number): number {
	let end = start;
	for (let length = 0; end < events.length && length < SLICE_LENGTH; end++) {
		length += frameLength(events[end] as StoredEvent);
	}
	return end;
}

/** How a new stream's replay went, once written. */
export interface ReplayOutcome {
	/** Events sent from history (the `replayed` of `sse:ready`). */
	replayed: number;
	/** The gap announced before the replay, if any. */
	gap: SSEGapReason | null;
}

const encoder = new TextEncoder();

/**
 * The bytes of the last text made under a key: the streams a reconnect storm brings back to one
 * position open and end their replay with the same lines, encoded once.
 */
class LastEncoded {
	#key: string | undefined;
	#bytes = new Uint8Array(0);

	of(key: string, text: () => string): Uint8Array {
		if (key !== this.#key) {
			this.#bytes = encoder.encode(text());
			this.#key = key;
		}
		return this.#bytes;
	}
}

export class ReplayWriter {
	readonly #store: HistoryStore;
	readonly #opening = new LastEncoded();
	readonly #ready = new LastEncoded();
	readonly #pageSize: number | undefined;
	readonly #onGap: ((reason: SSEGapReason) => void) | undefined;

	/** `onGap` is told of every `sse:gap` notice this writer sends (for the hub's counters). */
	constructor(
		store: HistoryStore,
		pageSize: number | undefined,
		onGap?: (reason: SSEGapReason) => void,
	) {
		this.#store = store;
		this.#pageSize = pageSize;
		this.#onGap = onGap;
	}

	/**
	 * Writes what history holds for `cursors` at the client's pace (announcing an `expired` gap
	 * first); returns how many events it sent, or `null` if the connection ended meanwhile.
	 */
	async writeHistory(stream: ReplayTarget, cursors: TopicCursor[]): Promise<number | null> {
		return (await this.#writeHistory(stream, cursors))?.replayed ?? null;
	}

	async #writeHistory(stream: ReplayTarget, cursors: TopicCursor[]): Promise<ReplayOutcome | null> {
		const { connection, session } = stream;
		// A store in this process answers at once: a short replay is written with no tick to wait.
		const sync = syncReadsOf(this.#store);
		const limit = this.#pageSize ?? DEFAULT_PAGE_SIZE;
		let sent = 0;
		let gap: SSEGapReason | null = null;
		let query: TopicCursor[] | null = cursors.length > 0 ? cursors : null;
		for (let first = true; query; first = false) {
			const read = { session, cursors: query, limit };
			const page = sync ? sync.read(read) : await this.#store.read(read);
			if (connection.closed) return null;
			if (first && page.expired.length > 0) {
				connection.write(encodeControl('sse:gap', { reason: 'expired', topics: page.expired }));
				gap = 'expired';
				this.#onGap?.(gap);
			}
			const { events } = page;
			for (let start = 0; start < events.length; ) {
				const end = sliceEnd(events, start);
				// At the client's pace: a replay larger than the buffer limit must not trip it.
				if (!connection.hasRoom) await connection.ready();
				if (connection.closed) return null;
				sent += stream.sendAll(
					start === 0 && end === events.length ? events : events.slice(start, end),
				);
				start = end;
			}
			query = cursorsAfter(query, page, limit);
		}
		return connection.closed ? null : { replayed: sent, gap };
	}

	/**
	 * A new stream: its position, gap notice, replay, its position again with `sse:ready`, live.
	 * Resolves to how the replay went, or `null` if the connection ended before it was written.
	 */
	async writeStart(stream: ReplayTarget, plan: ReplayPlan): Promise<ReplayOutcome | null> {
		const { connection } = stream;
		const start = formatEventId(plan.epoch, plan.position);
		// [spec] An `id:` without data sets the browser's last event id and dispatches nothing.
		connection.write(this.#opening.of(start, () => encodePosition(start)));
		if (plan.gap) {
			connection.write(encodeControl('sse:gap', plan.gap));
			this.#onGap?.(plan.gap.reason);
		}
		const written = await this.#writeHistory(stream, plan.cursors);
		if (written === null) return null;
		const { replayed } = written;
		// The client has everything up to its position: a catch-up (or a late live event) must not
		// send it again when the replay had nothing newer.
		stream.lastSeq = Math.max(stream.lastSeq, plan.position);
		const lastEventId = formatEventId(plan.epoch, stream.lastSeq);
		// A new topic's history can end below the position: the browser's id must not stay there.
		const ready = this.#ready.of(`${replayed} ${lastEventId}`, () => {
			const restate = replayed > 0 ? encodePosition(lastEventId) : '';
			return `${restate}${encodeControl('sse:ready', { replayed, lastEventId })}`;
		});
		connection.write(ready);
		stream.goLive();
		return { replayed, gap: plan.gap?.reason ?? written.gap };
	}
}
