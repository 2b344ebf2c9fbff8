import type { HistoryStore, SubscriptionRecord } from './history/store.js';

export interface TopicSafety {
	/** Topics the client was subscribed to at its position: replay what came after it. */
	had: string[];
	/** Topics new to the client: replay their retained history. */
	added: string[];
}

/**
 * Which requested topics the client already had at `position`, judged from its session's
 * subscription records.
 *
 * The records belong to the session, not to the tab: two tabs of one session may hold different
 * topics at the same position. So a topic counts as "had" only when every connection that could
 * have left the client at `position` carried it. When in doubt a topic is "new": the client
 * drops events it has already delivered, so an extra replay is harmless, while a missing one
 * loses events.
 */
export function analyzeTopicSafety(
	records: readonly SubscriptionRecord[],
	position: number,
	topics: readonly string[],
): TopicSafety {
	const candidates = records.filter(
		(record) => record.from <= position && (record.to === null || position <= record.to),
	);
	if (candidates.length === 0) return { had: [], added: [...topics] };
	const had: string[] = [];
	const added: string[] = [];
	for (const topic of topics) {
		if (candidates.every((record) => record.topics.includes(topic))) had.push(topic);
		else added.push(topic);
	}
	return { had, added };
}

/** Records (or updates, by `record.connection`) what one connection of `session` subscribes to. */
export function setTopicSubscription(
	store: HistoryStore,
	session: string,
	record: SubscriptionRecord,
): Promise<void> {
	return store.setSubscription(session, record);
}
