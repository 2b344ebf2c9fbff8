// `memoryHistory()`: the default `HistoryStore`, everything in this process's memory. Its parts:
// the logs (event-log.ts), the sessions (sessions.ts), the idempotency keys and the read merge.
import { formatEventId } from '../../wire/index.js';
import {
	checkIdempotencyKey,
	type HistoryBounds,
	positiveInteger,
	resolveBounds,
} from '../bounds.js';
import { newEpoch } from '../epoch.js';
import type {
	AppendedEvent,
	AppendInput,
	CursorRecord,
	HistoryStats,
	HistoryStore,
	ReadQuery,
	ReadResult,
	StoredEvent,
} from '../store.js';
import { type SyncReads, withSyncReads } from '../sync-reads.js';
import { EventLog, RetainedEvents, TopicLogs } from './event-log.js';
import { IdempotencyKeys } from './idempotency-keys.js';
import { readEvents } from './read.js';
import { type Session, Sessions, withCursorRecord } from './sessions.js';

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

/**
 * `text`, flattened. V8 keeps a concatenation (a template literal, `JSON.stringify`'s output past a
 * few dozen characters) as a tree of its parts, which costs a retained event's id and data twice
 * their length or more; reading a character makes it one flat string, and the next garbage
 * collection drops the tree.
 */
function flat(text: string): string {
	text.charCodeAt(0);
	return text;
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
	const retained = new RetainedEvents(maxAgeMs, now);
	const logs = {
		topics: new TopicLogs(maxLength, retained),
		sessions: new Sessions(sessionTtlMs, maxSessions, now, retained),
		head: 0,
	};
	const { topics, sessions } = logs;
	const keys = new IdempotencyKeys(maxKeys, maxAgeMs, now);

	const reads: SyncReads = {
		epoch: () => epoch,
		head: () => logs.head,
		read: ({ session, cursors, limit }) =>
			readEvents(logs, sessions.touch(session, false), cursors, limit),
		setCursorRecord(sessionId, record) {
			const session = sessions.touch(sessionId, true) as Session;
			sessions.setRecords(sessionId, session, withCursorRecord(session.records, record));
		},
		cursorRecords: (sessionId) => sessions.touch(sessionId, false)?.records ?? null,
	};

	const store: HistoryStore = {
		async epoch() {
			return epoch;
		},

		async head() {
			return logs.head;
		},

		async append({ topic, data, session: sessionId, idempotencyKey }: AppendInput) {
			if (idempotencyKey !== undefined) {
				const first = keys.storedUnder(checkIdempotencyKey('memoryHistory', idempotencyKey));
				if (first) return { ...first, duplicate: true } satisfies AppendedEvent;
			}
			const seq = ++logs.head;
			const id = flat(formatEventId(epoch, seq));
			const time = now();
			// Two shapes, each with its fields in the object: adding `session` later would give every
			// session event a separate property store.
			const event: StoredEvent =
				sessionId === undefined
					? { seq, id, topic, data: flat(data), time }
					: { seq, id, topic, data: flat(data), time, session: sessionId };
			let log: EventLog;
			if (sessionId !== undefined) {
				const session = sessions.touch(sessionId, true) as Session;
				session.log ??= new EventLog(maxLength);
				log = session.log;
			} else {
				log = topics.log(topic);
			}
			retained.push(log, event);
			if (idempotencyKey !== undefined) keys.remember(idempotencyKey, event);
			return event;
		},

		async read(query: ReadQuery): Promise<ReadResult> {
			return reads.read(query);
		},

		async setCursorRecord(sessionId: string, record: CursorRecord) {
			reads.setCursorRecord(sessionId, record);
		},

		async cursorRecords(sessionId: string) {
			return reads.cursorRecords(sessionId)?.map((record) => ({ ...record })) ?? null;
		},

		async stats(): Promise<HistoryStats> {
			sessions.expire();
			topics.pruneLogs();
			sessions.pruneLogs();
			return { epoch, head: logs.head, sessions: sessions.size, events: retained.count };
		},

		async close() {
			topics.clear();
			sessions.clear();
			keys.clear();
			retained.count = 0;
		},
	};
	return withSyncReads(store, reads);
}
