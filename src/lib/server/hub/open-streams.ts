// Who is connected: the open streams of one hub by topic and by session, and the per-session count.
import type { StoredEvent } from '../history/index.js';
import type { HubStream } from './stream.js';

function addTo(index: Map<string, Set<HubStream>>, key: string, stream: HubStream): void {
	const set = index.get(key);
	if (set) set.add(stream);
	else index.set(key, new Set([stream]));
}

function removeFrom(index: Map<string, Set<HubStream>>, key: string, stream: HubStream): void {
	const set = index.get(key);
	set?.delete(stream);
	if (set?.size === 0) index.delete(key);
}

/**
 * The open streams, indexed both ways a live event is addressed: to a topic, or to one
 * session. Iterating it visits every open stream.
 */
export class OpenStreams implements Iterable<HubStream> {
	readonly #byTopic = new Map<string, Set<HubStream>>();
	/** Most sessions have one stream: it is held as is, and a Set is made for a second one. */
	readonly #bySession = new Map<string, HubStream | Set<HubStream>>();
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

	add(stream: HubStream): void {
		const { session } = stream;
		const held = this.#bySession.get(session);
		if (held === undefined) this.#bySession.set(session, stream);
		else if (held instanceof Set) held.add(stream);
		else this.#bySession.set(session, new Set([held, stream]));
		for (const topic of stream.topics) addTo(this.#byTopic, topic, stream);
	}

	remove(stream: HubStream): void {
		const { session } = stream;
		const held = this.#bySession.get(session);
		if (held === stream) this.#bySession.delete(session);
		else if (held instanceof Set) {
			held.delete(stream);
			if (held.size === 0) this.#bySession.delete(session);
		}
		for (const topic of stream.topics) removeFrom(this.#byTopic, topic, stream);
	}

	/** The streams `stored` is addressed to: its session's, or else its topic's. */
	targetsOf(stored: StoredEvent): Iterable<HubStream> {
		if (stored.session === undefined) return this.#byTopic.get(stored.topic) ?? [];
		return this.#ofSession(stored.session);
	}

	#ofSession(session: string): HubStream[] {
		const held = this.#bySession.get(session);
		if (held === undefined) return [];
		return held instanceof Set ? [...held] : [held];
	}

	*[Symbol.iterator](): Iterator<HubStream> {
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
		const streams = this.#ofSession(session);
		for (const stream of streams) stream.connection.close();
		return streams.length;
	}

	closeAll(): void {
		for (const stream of [...this]) stream.connection.close();
	}
}
