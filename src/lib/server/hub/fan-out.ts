// Live fan-out: a stored event to the streams that want it, written once per tick.
import type { StoredEvent } from '../history/index.js';
import { joinFrames } from '../wire/index.js';
import type { OpenStreams } from './open-streams.js';
import type { HubStream } from './stream.js';

/** One write per stream: the same events for all, or a selection for each. */
interface Job {
	targets: readonly HubStream[];
	/** One entry shared by every target, or one per target. */
	selections: ReadonlyArray<readonly StoredEvent[]>;
	chunks: readonly Uint8Array[];
	/** How many of `targets` have been written. */
	done: number;
}

/**
 * Streams written per turn of the event loop. Each write leaves a little garbage behind until
 * its stream has passed the chunk on; written all at once to ten thousand streams, that garbage
 * outlives the young generation and costs a full collection. Small turns cost the last streams
 * instead, which wait on whatever runs between turns. This size is where the benchmark found the
 * balance (bench/README.md).
 */
export const STREAMS_PER_TURN = 2048;

/**
 * Collects live events and writes them one chunk per stream, after the tick they came in: a
 * burst of publishes shares a chunk, at the cost of one turn of the event loop. While one
 * write goes round the streams, what comes meanwhile gathers into the next, so a fast
 * publisher gets bigger chunks rather than a growing queue.
 */
export class FanOut {
	readonly #streams: OpenStreams;
	/** Events not written yet, in the order they came. */
	#tick: StoredEvent[] = [];
	/** Whether every event of `#tick` goes to the same streams, in ascending `seq`. */
	#oneAudience = true;
	#flushScheduled = false;
	/** The write going round the streams; the next waits for it, so order holds per stream. */
	#job: Job | undefined;

	constructor(streams: OpenStreams) {
		this.#streams = streams;
	}

	/** Hands a stored event to the streams that want it (after this tick). */
	readonly deliver = (stored: StoredEvent): void => {
		const previous = this.#tick.at(-1);
		if (
			previous &&
			(stored.seq <= previous.seq ||
				stored.topic !== previous.topic ||
				stored.session !== previous.session)
		) {
			this.#oneAudience = false;
		}
		this.#tick.push(stored);
		this.#scheduleFlush();
	};

	#scheduleFlush(): void {
		if (this.#flushScheduled || this.#job) return;
		this.#flushScheduled = true;
		setImmediate(this.#flush);
	}

	readonly #flush = (): void => {
		this.#flushScheduled = false;
		const events = this.#tick;
		if (events.length === 0) return;
		this.#tick = [];
		this.#job = this.#oneAudience ? this.#forAudience(events) : this.#mixed(events);
		this.#oneAudience = true;
		this.#write();
	};

	/**
	 * The common case (a burst on one topic, or a single event): the same chunk for every stream
	 * of the audience, made once, each stream visited once rather than once per event.
	 */
	#forAudience(events: StoredEvent[]): Job {
		const first = events[0] as StoredEvent;
		const targets = [...this.#streams.targetsOf(first)];
		return {
			// A session's event reaches its streams that listen to the topic, not all of them.
			targets:
				first.session === undefined
					? targets
					: targets.filter((stream) => stream.topics.includes(first.topic)),
			selections: [events],
			chunks: [joinFrames(events)],
			done: 0,
		};
	}

	/** Events for several topics or sessions: each stream gets its own selection, in order. */
	#mixed(events: StoredEvent[]): Job {
		const selected = new Map<HubStream, StoredEvent[]>();
		for (const event of events) {
			for (const stream of this.#streams.targetsOf(event)) {
				if (!stream.topics.includes(event.topic)) continue;
				const selection = selected.get(stream);
				if (selection) selection.push(event);
				else selected.set(stream, [event]);
			}
		}
		const selections = [...selected.values()];
		for (const selection of selections) selection.sort((a, b) => a.seq - b.seq);
		return {
			targets: [...selected.keys()],
			selections,
			// Streams with the same selection (same topics) share its bytes.
			chunks: selections.map(joinFrames),
			done: 0,
		};
	}

	/** Writes a batch of streams, then yields to the event loop until the job is done. */
	readonly #write = (): void => {
		const job = this.#job;
		if (!job) return;
		const shared = job.selections.length === 1;
		const end = Math.min(job.targets.length, job.done + STREAMS_PER_TURN);
		for (let i = job.done; i < end; i++) {
			const at = shared ? 0 : i;
			(job.targets[i] as HubStream).writeLive(
				job.selections[at] as StoredEvent[],
				job.chunks[at] as Uint8Array,
			);
		}
		job.done = end;
		if (end < job.targets.length) {
			setImmediate(this.#write);
			return;
		}
		this.#job = undefined;
		if (this.#tick.length > 0) this.#scheduleFlush();
	};
}
