// Who is connected: the open streams of one hub by topic and by session, and the per-session count.
import type { StoredEvent } from '../history/store.js';
import type { Subscriber } from './subscriber.js';

function addTo(index: Map<string, Set<Subscriber>>, key: string, subscriber: Subscriber): void {
	const set = index.get(key);
	if (set) set.add(subscriber);
	else index.set(key, new Set([subscriber]));
}

function removeFrom(
	index: Map<string, Set<Subscriber>>,
	key: string,
	subscriber: Subscriber,
): void {
	const set = index.get(key);
	set?.delete(subscriber);
	if (set?.size === 0) index.delete(key);
}

/**
 * The open streams, indexed both ways a live event is addressed: to a topic, or to one
 * session. Iterating it visits every open stream.
 */
export class SubscriberRegistry implements Iterable<Subscriber> {
	readonly #byTopic = new Map<string, Set<Subscriber>>();
	/** Most sessions have one stream: it is held as is, and a Set is made for a second one. */
	readonly #bySession = new Map<string, Subscriber | Set<Subscriber>>();
	/** Streams per session, counted from the moment a request passes the limit check. */
	readonly #openPerSession = new Map<string, number>();

	/** The streams counted for `session`, those still being set up included. */
	openCount(session: string): number {
		return this.#openPerSession.get(session) ?? 0;
	}

	/** Counts one more stream for `session`; `release` gives it back. */
	reserve(session: string): void {
		this.#openPerSession.set(session, this.openCount(session) + 1);
	}

	release(session: string): void {
		const count = (this.#openPerSession.get(session) ?? 1) - 1;
		if (count > 0) this.#openPerSession.set(session, count);
		else this.#openPerSession.delete(session);
	}

	add(subscriber: Subscriber): void {
		const { session } = subscriber;
		const held = this.#bySession.get(session);
		if (held === undefined) this.#bySession.set(session, subscriber);
		else if (held instanceof Set) held.add(subscriber);
		else this.#bySession.set(session, new Set([held, subscriber]));
		for (const topic of subscriber.topics) addTo(this.#byTopic, topic, subscriber);
	}

	remove(subscriber: Subscriber): void {
		const { session } = subscriber;
		const held = this.#bySession.get(session);
		if (held === subscriber) this.#bySession.delete(session);
		else if (held instanceof Set) {
			held.delete(subscriber);
			if (held.size === 0) this.#bySession.delete(session);
		}
		for (const topic of subscriber.topics) removeFrom(this.#byTopic, topic, subscriber);
	}

	/** The streams `stored` is addressed to: its session's, or else its topic's. */
	targetsOf(stored: StoredEvent): Iterable<Subscriber> {
		if (stored.session === undefined) return this.#byTopic.get(stored.topic) ?? [];
		return this.#ofSession(stored.session);
	}

	#ofSession(session: string): Subscriber[] {
		const held = this.#bySession.get(session);
		if (held === undefined) return [];
		return held instanceof Set ? [...held] : [held];
	}

	*[Symbol.iterator](): Iterator<Subscriber> {
		for (const held of this.#bySession.values()) {
			if (held instanceof Set) yield* held;
			else yield held;
		}
	}

	/** Open streams in this process. */
	get size(): number {
		let connections = 0;
		for (const held of this.#bySession.values()) connections += held instanceof Set ? held.size : 1;
		return connections;
	}

	/** Closes the open streams of `session`; returns how many. */
	closeSession(session: string): number {
		const subscribers = this.#ofSession(session);
		for (const subscriber of subscribers) subscriber.connection.close();
		return subscribers.length;
	}

	closeAll(): void {
		for (const subscriber of [...this]) subscriber.connection.close();
	}
}
