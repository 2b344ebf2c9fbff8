import { formatEventId } from '../../wire/index.js';
import {
	checkIdempotencyKey,
	type HistoryBounds,
	positiveInteger,
	resolveBounds,
} from '../bounds.js';
import { newEpoch } from '../epoch.js';
import {
	type AppendedEvent,
	type AppendInput,
	type CursorRecord,
	type HistoryStats,
	type HistoryStore,
	MAX_ENDED_RECORDS,
	type ReadQuery,
	type ReadResult,
	type StoredEvent,
	type TopicCursor,
} from '../store.js';
import { RingBuffer } from './ring-buffer.js';

/** The bounds (`HistoryBounds`: how many events, how old, how many sessions) and the clock. */
export interface MemoryHistoryOptions extends Partial<HistoryBounds> {
	/**
	 * Idempotency keys remembered (each for `maxAgeMs`); past it the oldest is forgotten first, and
	 * a retry with it would be stored again.
	 * @default 10000
	 */
	maxIdempotencyKeys?: number;
	/** The clock, in ms; injectable for tests. @default Date.now */
	now?: () => number;
}

/** A bounded, `seq`-ordered log that remembers, per topic, the newest event it had to drop. */
class EventLog {
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

interface Session {
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

/**
 * The default history: everything in this process's memory, gone when it restarts (the next
 * reconnect then gets an `epoch` gap). One ring buffer per session, one log per broadcast
 * topic, every one bounded by count and age; sessions bounded by idleness and number.
 */
export function memoryHistory(options: MemoryHistoryOptions = {}): HistoryStore {
	const { maxLength, maxAgeMs, sessionTtlMs, maxSessions } = resolveBounds(
		'memoryHistory',
		options,
	);
	const now = options.now ?? Date.now;
	const maxKeys = positiveInteger(
		'memoryHistory',
		'maxIdempotencyKeys',
		options.maxIdempotencyKeys ?? 10_000,
	);

	const epoch = newEpoch();
	let head = 0;
	let retained = 0;
	const topicLogs = new Map<string, EventLog>();
	// Map order is least recently active first: touching a session moves it to the end.
	const sessions = new Map<string, Session>();
	// The newest `seq` of a forgotten session's own events, per topic and of all topics: a session
	// the store does not know (or knows anew) may have lost its events up to there. Per topic, so
	// that forgetting sessions never makes a gap on a topic they had no events of.
	const forgottenUpTo = new Map<string, number>();
	let forgottenFloor = 0;
	// Idempotency key → the event first stored under it. Every key lives maxAgeMs, so insertion
	// order is expiry order: the oldest are dropped from the front.
	const keys = new Map<string, { event: StoredEvent; time: number }>();

	/** The event first stored under `key`, if it is still remembered. */
	function storedUnder(key: string): StoredEvent | undefined {
		const cutoff = now() - maxAgeMs;
		for (const [oldest, entry] of keys) {
			if (entry.time >= cutoff) break;
			keys.delete(oldest);
		}
		return keys.get(key)?.event;
	}

	function remember(key: string, event: StoredEvent): void {
		if (keys.size >= maxKeys) keys.delete(keys.keys().next().value as string);
		keys.set(key, { event, time: event.time });
	}

	const isOpen = (session: Session) => session.records.some((record) => record.to === null);

	function pruneLog(log: EventLog): void {
		retained -= log.prune(now() - maxAgeMs);
	}

	function forget(id: string, session: Session): void {
		if (session.log) {
			retained -= session.log.events.length;
			// Once per session, over what it holds: amortized O(1) per event appended.
			for (const [topic, seq] of session.log.newestByTopic()) {
				if (seq > (forgottenUpTo.get(topic) ?? 0)) forgottenUpTo.set(topic, seq);
				forgottenFloor = Math.max(forgottenFloor, seq);
			}
		}
		sessions.delete(id);
	}

	/** The newest `seq` of `topic` the session may have lost with an earlier one of its id. */
	function lostWithSession(session: Session | undefined, topic: string): number {
		const lost = forgottenUpTo.get(topic) ?? 0;
		return session ? Math.min(lost, session.floor) : lost;
	}

	/** Moves a session to the most-recently-active end of the map. */
	function refresh(id: string, session: Session): void {
		sessions.delete(id);
		session.lastActive = now();
		sessions.set(id, session);
	}

	/**
	 * Forgets idle sessions past their TTL, oldest first. A session with an open connection is
	 * active by definition: it moves to the recent end, so open sessions never pile up at the
	 * front and every scan stays short.
	 */
	function expireSessions(): void {
		const cutoff = now() - sessionTtlMs;
		for (const [id, session] of sessions) {
			if (session.lastActive >= cutoff) break;
			if (isOpen(session)) refresh(id, session);
			else forget(id, session);
		}
	}

	/** Makes room for one more session by forgetting the longest-idle one that is not open. */
	function evictForRoom(): void {
		let left = sessions.size; // each open session is moved to the end once at most
		for (const [id, session] of sessions) {
			if (left-- <= 0) return;
			if (!isOpen(session)) {
				forget(id, session);
				return;
			}
			refresh(id, session);
		}
	}

	function touch(id: string, create: boolean): Session | undefined {
		expireSessions();
		let session = sessions.get(id);
		if (session) {
			sessions.delete(id);
		} else {
			if (!create) return undefined;
			if (sessions.size >= maxSessions) evictForRoom();
			session = { log: undefined, records: [], lastActive: 0, floor: forgottenFloor };
		}
		session.lastActive = now();
		sessions.set(id, session);
		if (session.log) pruneLog(session.log);
		return session;
	}

	function topicLog(topic: string): EventLog {
		let log = topicLogs.get(topic);
		if (!log) {
			log = new EventLog(maxLength);
			topicLogs.set(topic, log);
		}
		pruneLog(log);
		return log;
	}

	/** The `seq` after which the cursor's events start. */
	function startOf(cursor: TopicCursor, session: Session | undefined): number {
		if (!('after' in cursor)) return lastStart(cursor.topic, cursor.last, session);
		if (cursor.last === undefined) return cursor.after;
		return Math.min(cursor.after, lastStart(cursor.topic, cursor.last, session));
	}

	/** The `seq` after which the last `last` events of `topic` start. */
	function lastStart(topic: string, last: number, session: Session | undefined): number {
		if (last === Number.POSITIVE_INFINITY) return 0;
		// The last N of this topic across its log and the session's buffer: walk both from the end.
		const log = topicLogs.get(topic)?.events;
		const own = session?.log?.events;
		let i = (log?.length ?? 0) - 1;
		let j = (own?.length ?? 0) - 1;
		let start = Number.MAX_SAFE_INTEGER;
		for (let taken = 0; taken < last; taken++) {
			while (j >= 0 && own?.at(j)?.topic !== topic) j--;
			const a = i >= 0 ? (log?.at(i)?.seq ?? -1) : -1;
			const b = j >= 0 ? (own?.at(j)?.seq ?? -1) : -1;
			if (a < 0 && b < 0) break;
			if (a > b) {
				start = a;
				i--;
			} else {
				start = b;
				j--;
			}
		}
		return start === Number.MAX_SAFE_INTEGER ? head : start - 1;
	}

	return {
		async epoch() {
			return epoch;
		},

		async head() {
			return head;
		},

		async append({ topic, data, session: sessionId, idempotencyKey }: AppendInput) {
			if (idempotencyKey !== undefined) {
				const first = storedUnder(checkIdempotencyKey('memoryHistory', idempotencyKey));
				if (first) return { ...first, duplicate: true } satisfies AppendedEvent;
			}
			const seq = ++head;
			const event: StoredEvent = { seq, id: formatEventId(epoch, seq), topic, data, time: now() };
			let log: EventLog;
			if (sessionId !== undefined) {
				event.session = sessionId;
				const session = touch(sessionId, true) as Session;
				session.log ??= new EventLog(maxLength);
				log = session.log;
			} else {
				log = topicLog(topic);
			}
			retained += 1 - log.push(event);
			if (idempotencyKey !== undefined) remember(idempotencyKey, event);
			return event;
		},

		async read({ session: sessionId, cursors, limit }: ReadQuery): Promise<ReadResult> {
			const session = touch(sessionId, false);
			const expired: string[] = [];
			// One source per topic log, plus the session's buffer filtered to the wanted topics.
			const sources: Array<{ log: EventLog; index: number; starts: Map<string, number> }> = [];
			const sessionStarts = new Map<string, number>();
			for (const cursor of cursors) {
				const start = startOf(cursor, session);
				const log = topicLogs.has(cursor.topic) ? topicLog(cursor.topic) : undefined;
				if ('after' in cursor && !expired.includes(cursor.topic)) {
					const dropped = Math.max(
						log?.droppedUpTo(cursor.topic) ?? 0,
						session?.log?.droppedUpTo(cursor.topic) ?? 0,
						lostWithSession(session, cursor.topic),
					);
					if (dropped > cursor.after) expired.push(cursor.topic);
				}
				// A topic named twice reads once, from the lower start of the two.
				const earlier = sessionStarts.get(cursor.topic);
				if (earlier !== undefined && earlier <= start) continue;
				sessionStarts.set(cursor.topic, start);
				if (!log) continue;
				const source = sources.find((s) => s.log === log);
				if (source) source.index = log.indexAfter(start);
				else sources.push({ log, index: log.indexAfter(start), starts: new Map() });
			}
			if (session?.log && sessionStarts.size > 0) {
				const lowest = Math.min(...sessionStarts.values());
				sources.push({
					log: session.log,
					index: session.log.indexAfter(lowest),
					starts: sessionStarts,
				});
			}

			// k-way merge by seq; k is the number of topics plus one, so a linear pick is fine.
			const events: StoredEvent[] = [];
			while (events.length < limit) {
				let best: (typeof sources)[number] | undefined;
				let bestEvent: StoredEvent | undefined;
				for (const source of sources) {
					let event = source.log.events.at(source.index);
					// The session buffer holds every topic of the session: skip the unwanted ones.
					while (event && source.starts.size > 0) {
						const start = source.starts.get(event.topic);
						if (start !== undefined && event.seq > start) break;
						event = source.log.events.at(++source.index);
					}
					if (event && (!bestEvent || event.seq < bestEvent.seq)) {
						best = source;
						bestEvent = event;
					}
				}
				if (!best || !bestEvent) break;
				events.push(bestEvent);
				best.index++;
			}
			return { events, expired };
		},

		async setCursorRecord(sessionId: string, record: CursorRecord) {
			const session = touch(sessionId, true) as Session;
			// A new array of exactly its length: one pushed onto grows to 17 slots, and there is
			// one of these per session.
			const records = [
				...session.records.filter((r) => r.connection !== record.connection),
				record,
			];
			let ended = records.filter((r) => r.to !== null).length;
			while (ended > MAX_ENDED_RECORDS) {
				records.splice(
					records.findIndex((r) => r.to !== null),
					1,
				);
				ended--;
			}
			session.records = records;
		},

		async cursorRecords(sessionId: string) {
			const session = touch(sessionId, false);
			return session ? session.records.map((record) => ({ ...record })) : null;
		},

		async stats(): Promise<HistoryStats> {
			expireSessions();
			for (const log of topicLogs.values()) pruneLog(log);
			for (const session of sessions.values()) if (session.log) pruneLog(session.log);
			return { epoch, head, sessions: sessions.size, events: retained };
		},

		async close() {
			topicLogs.clear();
			sessions.clear();
			forgottenUpTo.clear();
			keys.clear();
			retained = 0;
		},
	};
}
