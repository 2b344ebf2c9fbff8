// How the in-memory store reads: where each cursor starts, which topics have expired, and the
// merge of the topic logs and the session's own log in `seq` order.
import type { ReadResult, StoredEvent, TopicCursor } from '../store.js';
import type { EventLog, TopicLogs } from './event-log.js';
import type { Session, Sessions } from './sessions.js';

/** What a read looks at: the store's logs and its head. */
export interface MemoryLogs {
	topics: TopicLogs;
	sessions: Sessions;
	/** The highest `seq` assigned so far. */
	head: number;
}

/** One log a read walks, from `index`; a session's own log keeps only the `starts` it names. */
interface Source {
	log: EventLog;
	index: number;
	/** Per topic, the `seq` after which it is wanted; empty for a topic log (all of it). */
	starts: Map<string, number>;
}

/** The retained events of `cursors` for `session` (touched already), at most `limit`. */
export function readEvents(
	logs: MemoryLogs,
	session: Session | undefined,
	cursors: TopicCursor[],
	limit: number,
): ReadResult {
	const expired: string[] = [];
	// One source per topic log, plus the session's buffer filtered to the wanted topics.
	const sources: Source[] = [];
	const sessionStarts = new Map<string, number>();
	for (const cursor of cursors) {
		const start = startOf(logs, cursor, session);
		const log = logs.topics.existing(cursor.topic);
		if ('after' in cursor && !expired.includes(cursor.topic)) {
			const dropped = Math.max(
				log?.droppedUpTo(cursor.topic) ?? 0,
				session?.log?.droppedUpTo(cursor.topic) ?? 0,
				logs.sessions.lostWith(session, cursor.topic),
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
	return { events: mergeBySeq(sources, limit), expired };
}

/** A k-way merge by seq; k is the number of topics plus one, so a linear pick is fine. */
function mergeBySeq(sources: Source[], limit: number): StoredEvent[] {
	const events: StoredEvent[] = [];
	while (events.length < limit) {
		let best: Source | undefined;
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
	return events;
}

/** The `seq` after which the cursor's events start. */
function startOf(logs: MemoryLogs, cursor: TopicCursor, session: Session | undefined): number {
	if (!('after' in cursor)) return lastStart(logs, cursor.topic, cursor.last, session);
	if (cursor.last === undefined) return cursor.after;
	return Math.min(cursor.after, lastStart(logs, cursor.topic, cursor.last, session));
}

/** The `seq` after which the last `last` events of `topic` start. */
function lastStart(
	logs: MemoryLogs,
	topic: string,
	last: number,
	session: Session | undefined,
): number {
	if (last === Number.POSITIVE_INFINITY) return 0;
	// The last N of this topic across its log and the session's buffer: walk both from the end.
	const log = logs.topics.peek(topic)?.events;
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
	return start === Number.MAX_SAFE_INTEGER ? logs.head : start - 1;
}
