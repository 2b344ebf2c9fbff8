// Live fan-out: a stored event to the streams that want it, written once per tick.
import type { StoredEvent } from '../history/store.js';
import type { SubscriberRegistry } from './registry.js';
import type { Subscriber } from './subscriber.js';

export class FanOut {
	readonly #registry: SubscriberRegistry;
	/** Streams with live events queued in this tick. */
	readonly #dirty = new Set<Subscriber>();
	#flushScheduled = false;

	constructor(registry: SubscriberRegistry) {
		this.#registry = registry;
	}

	/**
	 * Writes the tick's live events, one chunk per stream. Flushing after the tick (not per
	 * event) lets a burst of publishes share a chunk, at the cost of one turn of the event loop.
	 */
	readonly #flush = (): void => {
		this.#flushScheduled = false;
		const chunks = new Map<string, Uint8Array>();
		for (const subscriber of this.#dirty) subscriber.flush(chunks);
		this.#dirty.clear();
	};

	/** Hands a stored event to the streams that want it. */
	readonly deliver = (stored: StoredEvent): void => {
		for (const subscriber of this.#registry.targetsOf(stored)) {
			if (subscriber.topics.has(stored.topic) && subscriber.deliver(stored)) {
				this.#dirty.add(subscriber);
			}
		}
		if (this.#dirty.size > 0 && !this.#flushScheduled) {
			this.#flushScheduled = true;
			setImmediate(this.#flush);
		}
	};
}
