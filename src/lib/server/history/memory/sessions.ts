// The sessions of the in-memory store: each one's own events and cursor records, bounded by
// idleness and by number, and what forgotten sessions may have taken with them.
import { type CursorRecord, MAX_ENDED_RECORDS } from '../store.js';
import type { EventLog, RetainedEvents } from './event-log.js';

export interface Session {
	/** Its own events; made by the first one (most sessions only ever get broadcasts). */
	log: EventLog | undefined;
	records: CursorRecord[];
	lastActive: number;
	/**
	 * How far forgotten sessions' own events reached when this one was made: an earlier session
	 * of the same id may have lost events up to there.
	 */
	floor: number;
}

const isOpen = (session: Session) => session.records.some((record) => record.to === null);

export class Sessions {
	// Sessions with no open connection, least recently active first (touching one moves it to the
	// end): the front is the next to expire or to make room. Open sessions are kept apart, so that
	// neither ever walks past them, however many are live.
	readonly #idle = new Map<string, Session>();
	readonly #open = new Map<string, Session>();
	// The newest `seq` of a forgotten session's own events, per topic and of all topics: a session
	// the store does not know (or knows anew) may have lost its events up to there. Per topic, so
	// that forgetting sessions never makes a gap on a topic they had no events of.
	readonly #forgottenUpTo = new Map<string, number>();
	#forgottenFloor = 0;
	/**
	 * No idle session can expire while the clock is at or below this: `expire` runs on every
	 * touch, and walking the idle map even to its first entry is not free once its front holds
	 * the holes of sessions that left it (a reconnect storm moves thousands from idle to open).
	 */
	#keptUntil = Number.NEGATIVE_INFINITY;

	constructor(
		readonly ttlMs: number,
		readonly max: number,
		readonly now: () => number,
		readonly retained: RetainedEvents,
	) {}

	get size(): number {
		return this.#idle.size + this.#open.size;
	}

	/** The session `id`, marked active (and its own log pruned); made when unknown if `create`. */
	touch(id: string, create: boolean): Session | undefined {
		this.expire();
		let session = this.#idle.get(id) ?? this.#open.get(id);
		if (session) {
			this.#idle.delete(id);
		} else {
			if (!create) return undefined;
			if (this.size >= this.max) this.#evictForRoom();
			session = { log: undefined, records: [], lastActive: 0, floor: this.#forgottenFloor };
		}
		session.lastActive = this.now();
		this.#place(id, session);
		if (session.log) this.retained.prune(session.log);
		return session;
	}

	/** Sets a session's cursor records; it moves between idle and open as they say. */
	setRecords(id: string, session: Session, records: CursorRecord[]): void {
		session.records = records;
		this.#idle.delete(id);
		this.#open.delete(id);
		this.#place(id, session);
	}

	/** Forgets idle sessions past their TTL, oldest first (an open session is active by definition). */
	expire(): void {
		const now = this.now();
		if (now <= this.#keptUntil) return;
		const cutoff = now - this.ttlMs;
		for (const [id, session] of this.#idle) {
			if (session.lastActive >= cutoff) {
				this.#keptUntil = session.lastActive + this.ttlMs;
				return;
			}
			this.#forget(id, session);
		}
		// None idle: a session that becomes idle is touched then, so it is kept at least that long.
		this.#keptUntil = now + this.ttlMs;
	}

	/** Drops what aged out of every session's own log. */
	pruneLogs(): void {
		for (const sessions of [this.#idle, this.#open]) {
			for (const session of sessions.values()) {
				if (session.log) this.retained.prune(session.log);
			}
		}
	}

	/** The newest `seq` of `topic` the session may have lost with an earlier one of its id. */
	lostWith(session: Session | undefined, topic: string): number {
		const lost = this.#forgottenUpTo.get(topic) ?? 0;
		return session ? Math.min(lost, session.floor) : lost;
	}

	clear(): void {
		this.#idle.clear();
		this.#open.clear();
		this.#forgottenUpTo.clear();
	}

	/** Puts a session at the recent end of its map (it is in neither). */
	#place(id: string, session: Session): void {
		(isOpen(session) ? this.#open : this.#idle).set(id, session);
	}

	#forget(id: string, session: Session): void {
		if (session.log) {
			this.retained.forget(session.log);
			// Once per session, over what it holds: amortized O(1) per event appended.
			for (const [topic, seq] of session.log.newestByTopic()) {
				if (seq > (this.#forgottenUpTo.get(topic) ?? 0)) this.#forgottenUpTo.set(topic, seq);
				this.#forgottenFloor = Math.max(this.#forgottenFloor, seq);
			}
		}
		this.#idle.delete(id);
	}

	/**
	 * Makes room for one more session by forgetting the longest-idle one, in O(1). When every
	 * session is open there is none to forget: the cap yields to live sessions.
	 */
	#evictForRoom(): void {
		const idlest = this.#idle.entries().next();
		if (!idlest.done) this.#forget(...idlest.value);
	}
}

/**
 * `records` with `record` added, or in place of the one of its connection: every open record and
 * the newest `MAX_ENDED_RECORDS` ended ones.
 */
export function withCursorRecord(records: CursorRecord[], record: CursorRecord): CursorRecord[] {
	// A new array of exactly its length: one pushed onto grows to 17 slots, and there is one of
	// these per session.
	const next = [...records.filter((r) => r.connection !== record.connection), record];
	let ended = next.filter((r) => r.to !== null).length;
	while (ended > MAX_ENDED_RECORDS) {
		next.splice(
			next.findIndex((r) => r.to !== null),
			1,
		);
		ended--;
	}
	return next;
}
