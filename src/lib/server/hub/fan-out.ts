// Live fan-out: a stored event to the streams that want it, written once per tick.
import type { StoredEvent } from '../history/store.js';
import { joinFrames } from './frames.js';
import type { SubscriberRegistry } from './registry.js';
import type { Subscriber } from './subscriber.js';

/** The same events, as one chunk, for these streams. */
interface Job {
	targets: readonly Subscriber[];
	events: readonly StoredEvent[];
	chunk: Uint8Array;
	/** How many of `targets` have been written. */
	done: number;
}

/**
 * Streams written per turn of the event loop. Each write leaves a little garbage behind until
 * its stream has passed the chunk on; written all at once to ten thousand streams, that garbage
 * outlives the young generation and costs a full collection. In turns, it dies young, and the
 * first streams get their events before the last are written.
 */
const BATCH = 512;

/**
 * Collects the live events of one turn of the event loop and writes them after it, one chunk
 * per stream. Flushing after the tick (not per event) lets a burst of publishes share a chunk,
 * at the cost of one turn of the event loop.
 */
export class FanOut {
	readonly #registry: SubscriberRegistry;
	/** This tick's events, in the order they came. */
	#tick: StoredEvent[] = [];
	/** Whether every event of the tick goes to the same streams, in ascending `seq`. */
	#oneAudience = true;
	/** Written in order: a stream never gets a later tick's events before an earlier one's. */
	#jobs: Job[] = [];

	constructor(registry: SubscriberRegistry) {
		this.#registry = registry;
	}

	/** Hands a stored event to the streams that want it (after this tick). */
	readonly deliver = (stored: StoredEvent): void => {
		const previous = this.#tick.at(-1);
		if (previous === undefined) setImmediate(this.#flush);
		else if (
			stored.seq <= previous.seq ||
			stored.topic !== previous.topic ||
			stored.session !== previous.session
		) {
			this.#oneAudience = false;
		}
		this.#tick.push(stored);
	};

	readonly #flush = (): void => {
		const events = this.#tick;
		const oneAudience = this.#oneAudience;
		this.#tick = [];
		this.#oneAudience = true;
		const idle = this.#jobs.length === 0;
		if (oneAudience) this.#queueForAudience(events);
		else this.#queueMixed(events);
		if (idle) this.#write();
	};

	/**
	 * The common case (a burst on one topic, or a single event): the same chunk for every stream
	 * of the audience, made once, each stream visited once rather than once per event.
	 */
	#queueForAudience(events: StoredEvent[]): void {
		const first = events[0] as StoredEvent;
		const targets = [...this.#registry.targetsOf(first)];
		this.#jobs.push({
			// A session's event reaches its streams that listen to the topic, not all of them.
			targets:
				first.session === undefined
					? targets
					: targets.filter((subscriber) => subscriber.topics.includes(first.topic)),
			events,
			chunk: joinFrames(events),
			done: 0,
		});
	}

	/** Events for several topics or sessions: each stream gets its own selection, in order. */
	#queueMixed(events: StoredEvent[]): void {
		const selections = new Map<Subscriber, StoredEvent[]>();
		for (const event of events) {
			for (const subscriber of this.#registry.targetsOf(event)) {
				if (!subscriber.topics.includes(event.topic)) continue;
				const selection = selections.get(subscriber);
				if (selection) selection.push(event);
				else selections.set(subscriber, [event]);
			}
		}
		for (const [subscriber, selection] of selections) {
			selection.sort((a, b) => a.seq - b.seq);
			// Streams with the same selection (same topics) share its bytes.
			this.#jobs.push({
				targets: [subscriber],
				events: selection,
				chunk: joinFrames(selection),
				done: 0,
			});
		}
	}

	/** Writes up to a batch of streams, then yields to the event loop if there is more. */
	readonly #write = (): void => {
		let budget = BATCH;
		while (budget > 0) {
			const job = this.#jobs[0];
			if (!job) return;
			const end = Math.min(job.targets.length, job.done + budget);
			for (let i = job.done; i < end; i++) {
				(job.targets[i] as Subscriber).writeLive(job.events, job.chunk);
			}
			budget -= end - job.done;
			job.done = end;
			if (end === job.targets.length) this.#jobs.shift();
		}
		if (this.#jobs.length > 0) setImmediate(this.#write);
	};
}
