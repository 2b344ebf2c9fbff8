// The logs of the in-memory store: one per broadcast topic and one per session, each a bounded,
// `seq`-ordered ring buffer, and the count of the events they hold together.
import type { StoredEvent } from '../store.js';
import { RingBuffer } from './ring-buffer.js';

/** A bounded, `seq`-ordered log that remembers, per topic, the newest event it had to drop. */
export class EventLog {
	readonly events: RingBuffer<StoredEvent>;
	/** Made on the first drop: most session logs never drop anything. */
	#droppedUpTo: Map<string, number> | undefined;

	constructor(maxLength: number) {
		this.events = new RingBuffer(maxLength);
	}

	/** Appends `event`; returns how many events it dropped to make room (0 or 1). */
	push(event: StoredEvent): number {
		const evicted = this.events.push(event);
		if (!evicted) return 0;
		this.#dropped(evicted);
		return 1;
	}

	#dropped(event: StoredEvent): void {
		this.#droppedUpTo ??= new Map();
		this.#droppedUpTo.set(event.topic, event.seq);
	}

	/** The newest `seq` of `topic` that this log has dropped (0 if none). */
	droppedUpTo(topic: string): number {
		return this.#droppedUpTo?.get(topic) ?? 0;
	}

	prune(cutoff: number): number {
		let dropped = 0;
		for (
			let oldest = this.events.peek();
			oldest && oldest.time < cutoff;
			oldest = this.events.peek()
		) {
			this.events.shift();
			this.#dropped(oldest);
			dropped++;
		}
		return dropped;
	}

	/** The newest `seq` of each topic this log ever held, dropped or retained. */
	newestByTopic(): Map<string, number> {
		const newest = new Map(this.#droppedUpTo);
		for (let i = 0; i < this.events.length; i++) {
			const event = this.events.at(i) as StoredEvent;
			newest.set(event.topic, event.seq);
		}
		return newest;
	}

	/** Index of the first event with `seq > after`. */
	indexAfter(after: number): number {
		return this.events.firstIndexWhere((event) => event.seq > after);
	}
}

/**
 * How many events the logs of one store hold together, kept exact as events come, age out and
 * go with a forgotten session, so that `stats()` need not count them.
 */
export class RetainedEvents {
	count = 0;

	constructor(
		readonly maxAgeMs: number,
		readonly now: () => number,
	) {}

	/** Appends `event` to `log`, counting the one it drops to make room. */
	push(log: EventLog, event: StoredEvent): void {
		this.count += 1 - log.push(event);
	}

	/** Drops the events of `log` older than `maxAgeMs`. */
	prune(log: EventLog): void {
		this.count -= log.prune(this.now() - this.maxAgeMs);
	}

	/** `log` is forgotten whole. */
	forget(log: EventLog): void {
		this.count -= log.events.length;
	}
}

/** One log per broadcast topic, made by the topic's first event. */
export class TopicLogs {
	readonly #logs = new Map<string, EventLog>();

	constructor(
		readonly maxLength: number,
		readonly retained: RetainedEvents,
	) {}

	/** The log of `topic` as it is, aged-out events included, or `undefined` if it has none. */
	peek(topic: string): EventLog | undefined {
		return this.#logs.get(topic);
	}

	/** The log of `topic` with what aged out dropped, made if it has none. */
	log(topic: string): EventLog {
		let log = this.#logs.get(topic);
		if (!log) {
			log = new EventLog(this.maxLength);
			this.#logs.set(topic, log);
		}
		this.retained.prune(log);
		return log;
	}

	/** The log of `topic` with what aged out dropped, or `undefined` if it has none. */
	existing(topic: string): EventLog | undefined {
		return this.#logs.has(topic) ? this.log(topic) : undefined;
	}

	/** Drops what aged out of every topic log. */
	pruneLogs(): void {
		for (const log of this.#logs.values()) this.retained.prune(log);
	}

	clear(): void {
		this.#logs.clear();
	}
}
