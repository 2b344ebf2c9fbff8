// Topic safety: which requested topics a client already had at its position, from its cursor records.
import type { CursorRecord, HistoryStore } from '../history/index.js';

export interface TopicSafety {
	/** Topics the client was subscribed to at its position: replay what came after it. */
	had: string[];
	/** Topics new to the client: replay their retained history. */
	added: string[];
}

/**
 * Which requested topics the client already had at `position`, judged from its cursor records.
 *
 * With `client` (the id `SSEClient` names itself with), only that client's own records count;
 * without one, the session's: two tabs of one session may hold different topics at the same
 * position, so a topic counts as "had" only when every record that could have left the client at
 * `position` carried it. On a record, a topic it added (gave history) is "had" except at its
 * start: there (the position the stream stated first, and again after its replay) the client may
 * or may not have received that history; anywhere else it got there through the stream, which is
 * in `seq` order, so it has everything of the topic up to `position`. When in doubt a
 * topic is "new", which costs a replay of its history that the client drops as already
 * delivered; it never skips what came after `position` (the replay reads that for new topics too).
 */
export function analyzeTopicSafety(
	records: readonly CursorRecord[],
	position: number,
	topics: readonly string[],
	client?: string,
): TopicSafety {
	const own = client === undefined ? records : records.filter((record) => record.client === client);
	const candidates = own.filter(
		(record) =>
			// A record that added topics may have left the client below its start, in their history:
			// where it stops in that history, it has all of it up to there.
			(record.from <= position || (record.added?.length ?? 0) > 0) &&
			(record.to === null || position <= record.to),
	);
	if (candidates.length === 0) return { had: [], added: [...topics] };
	const hadOn = (record: CursorRecord, topic: string) =>
		record.topics.includes(topic) && (position !== record.from || !record.added?.includes(topic));
	const had: string[] = [];
	const added: string[] = [];
	for (const topic of topics) {
		if (candidates.every((record) => hadOn(record, topic))) had.push(topic);
		else added.push(topic);
	}
	return { had, added };
}

/** Records (or updates, by `record.connection`) what one connection of `session` subscribes to. */
export function setTopicSubscription(
	store: HistoryStore,
	session: string,
	record: CursorRecord,
): Promise<void> {
	return store.setCursorRecord(session, record);
}
