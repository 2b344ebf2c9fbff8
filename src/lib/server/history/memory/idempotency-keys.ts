// The idempotency keys of the in-memory store: which event was first stored under a key, for
// `maxAgeMs`, at most `max` keys.
import type { StoredEvent } from '../store.js';

export class IdempotencyKeys {
	// Key → the event first stored under it. Every key lives maxAgeMs, so insertion order is expiry
	// order: the oldest are dropped from the front.
	readonly #keys = new Map<string, { event: StoredEvent; time: number }>();

	constructor(
		readonly max: number,
		readonly maxAgeMs: number,
		readonly now: () => number,
	) {}

	/** The event first stored under `key`, if it is still remembered. */
	storedUnder(key: string): StoredEvent | undefined {
		const cutoff = this.now() - this.maxAgeMs;
		for (const [oldest, entry] of this.#keys) {
			if (entry.time >= cutoff) break;
			this.#keys.delete(oldest);
		}
		return this.#keys.get(key)?.event;
	}

	remember(key: string, event: StoredEvent): void {
		if (this.#keys.size >= this.max) this.#keys.delete(this.#keys.keys().next().value as string);
		this.#keys.set(key, { event, time: event.time });
	}

	clear(): void {
		this.#keys.clear();
	}
}
