// Who is connected: the open streams of one hub by topic and by session, and the per-session count.
import type { StoredEvent } from '../history/store.js';
import type { Subscriber } from './subscriber.js';

function addTo<K>(index: Map<K, Set<Subscriber>>, key: K, subscriber: Subscriber): void {
	const set = index.get(key);
	if (set) set.add(subscriber);
	else index.set(key, new Set([subscriber]));
}

function removeFrom<K>(index: Map<K, Set<Subscriber>>, key: K, subscriber: Subscriber): void {
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
	readonly #bySession = new Map<string, Set<Subscriber>>();
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
		addTo(this.#bySession, subscriber.session, subscriber);
		for (const topic of subscriber.topics) addTo(this.#byTopic, topic, subscriber);
	}

	remove(subscriber: Subscriber): void {
		removeFrom(this.#bySession, subscriber.session, subscriber);
		for (const topic of subscriber.topics) removeFrom(this.#byTopic, topic, subscriber);
	}

	/** The streams `stored` is addressed to: its session's, or else its topic's. */
	targetsOf(stored: StoredEvent): Iterable<Subscriber> {
		const targets =
			stored.session === undefined
				? this.#byTopic.get(stored.topic)
				: this.#bySession.get(stored.session);
		return targets ?? [];
	}

	*[Symbol.iterator](): Iterator<Subscriber> {
		for (const subscribers of this.#bySession.values()) yield* subscribers;
	}

	/** Open streams in this process. */
	get size(): number {
		let connections = 0;
		for (const set of this.#bySession.values()) connections += set.size;
		return connections;
	}

	/** Closes the open streams of `session`; returns how many. */
	closeSession(session: string): number {
		const subscribers = [...(this.#bySession.get(session) ?? [])];
		for (const subscriber of subscribers) subscriber.connection.close();
		return subscribers.length;
	}

	closeAll(): void {
		for (const subscribers of this.#bySession.values()) {
			for (const subscriber of [...subscribers]) subscriber.connection.close();
		}
	}
}
