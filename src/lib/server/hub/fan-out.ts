// Live fan-out: a stored event to the streams that want it, written once per tick.
import type { StoredEvent } from '../history/store.js';
import { joinFrames } from './frames.js';
import type { SubscriberRegistry } from './registry.js';
import type { Subscriber } from './subscriber.js';

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
		if (oneAudience) this.#writeToAudience(events);
		else this.#writeMixed(events);
	};

	/**
	 * The common case (a burst on one topic, or a single event): the same chunk for every stream
	 * of the audience, made once, each stream visited once rather than once per event.
	 */
	#writeToAudience(events: StoredEvent[]): void {
		const first = events[0] as StoredEvent;
		const chunk = joinFrames(events);
		for (const subscriber of this.#registry.targetsOf(first)) {
			// A session's event reaches its streams that listen to the topic, not all of them.
			if (first.session === undefined || subscriber.topics.includes(first.topic)) {
				subscriber.writeLive(events, chunk);
			}
		}
	}

	/** Events for several topics or sessions: each stream gets its own selection, in order. */
	#writeMixed(events: StoredEvent[]): void {
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
			subscriber.writeLive(selection, joinFrames(selection));
		}
	}
}
