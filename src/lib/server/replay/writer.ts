// Writing history into an open stream at the client's pace: a new stream's replay, a catch-up.
import type { HistoryStore, StoredEvent, TopicCursor } from '../history/index.js';
import type { SSEConnection } from '../transport/index.js';
import { encodeControl, encodePosition, formatEventId, frameLength } from '../wire/index.js';
import { replayMissedMessages } from './missed.js';
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

/** Cuts a page into runs of about `SLICE_LENGTH` of frames. */
function* slices(events: readonly StoredEvent[]): Generator<StoredEvent[]> {
	let slice: StoredEvent[] = [];
	let length = 0;
	for (const event of events) {
		slice.push(event);
		length += frameLength(event);
		if (length >= SLICE_LENGTH) {
			yield slice;
			slice = [];
			length = 0;
		}
	}
	if (slice.length > 0) yield slice;
}

/** How a new stream's replay went, once written. */
export interface ReplayOutcome {
	/** Events sent from history (the `replayed` of `sse:ready`). */
	replayed: number;
	/** The gap announced before the replay, if any. */
	gap: SSEGapReason | null;
}

export class ReplayWriter {
	readonly #store: HistoryStore;
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
		const { connection } = stream;
		let sent = 0;
		let first = true;
		let gap: SSEGapReason | null = null;
		for await (const page of replayMissedMessages({
			store: this.#store,
			session: stream.session,
			cursors,
			pageSize: this.#pageSize,
		})) {
			if (connection.closed) return null;
			if (first && page.expired.length > 0) {
				connection.write(encodeControl('sse:gap', { reason: 'expired', topics: page.expired }));
				gap = 'expired';
				this.#onGap?.(gap);
			}
			first = false;
			for (const slice of slices(page.events)) {
				// At the client's pace: a replay larger than the buffer limit must not trip it.
				if (!connection.hasRoom) await connection.ready();
				if (connection.closed) return null;
				sent += stream.sendAll(slice);
			}
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
		connection.write(encodePosition(start));
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
		const restate = replayed > 0 ? encodePosition(lastEventId) : '';
		connection.write(`${restate}${encodeControl('sse:ready', { replayed, lastEventId })}`);
		stream.goLive();
		return { replayed, gap: plan.gap?.reason ?? written.gap };
	}
}
