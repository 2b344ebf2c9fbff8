import type { HistoryStore, ReadResult, StoredEvent, TopicCursor } from './history/store.js';
import type { Emit, TopicMap } from './produce-sse.js';
import { analyzeTopicSafety } from './topic-safety.js';
import { assertTopicName, parseEventId, serializeData } from './wire.js';

/**
 * What a topic new to the client gets on connect: all its retained history, none of it, or
 * the last N events.
 */
export type NewTopicHistory = 'all' | 'none' | number;

/** Why the history cannot cover the client's position (the `sse:gap` control event). */
export type GapReason = 'expired' | 'epoch' | 'malformed';

export interface Gap {
	reason: GapReason;
	topics: string[];
}

export interface ReplayPlan {
	/** Known before reading: a foreign epoch or a malformed id. (`expired` comes with the first page.) */
	gap: Gap | null;
	cursors: TopicCursor[];
	/** The client's position (its `seq`) when it is valid in this epoch, else 0. */
	position: number;
	/** The lowest position the client can hold on this connection (for its subscription record). */
	from: number;
}

export interface PlanReplayInput {
	store: HistoryStore;
	session: string;
	topics: readonly string[];
	/** The `Last-Event-ID` header, else the `lastEventId` query parameter; `null` for a fresh client. */
	lastEventId: string | null;
	newTopicHistory?: NewTopicHistory;
}

function historyCursor(topic: string, policy: NewTopicHistory): TopicCursor {
	if (policy === 'all') return { topic, last: Number.POSITIVE_INFINITY };
	if (policy === 'none') return { topic, last: 0 };
	return { topic, last: policy };
}

/** Decides, for each requested topic, where its replay starts. */
export async function planReplay({
	store,
	session,
	topics,
	lastEventId,
	newTopicHistory = 'all',
}: PlanReplayInput): Promise<ReplayPlan> {
	const allNew = (gap: Gap | null): ReplayPlan => ({
		gap,
		cursors: topics.map((topic) => historyCursor(topic, newTopicHistory)),
		position: 0,
		from: 0,
	});
	if (!lastEventId) return allNew(null);

	const position = parseEventId(lastEventId);
	const [epoch, head] = await Promise.all([store.epoch(), store.head()]);
	// A seq past the head names events that never existed here: as untrustworthy as garbage.
	if (!position || (position.epoch === epoch && position.seq > head)) {
		return allNew({ reason: 'malformed', topics: [...topics] });
	}
	if (position.epoch !== epoch) return allNew({ reason: 'epoch', topics: [...topics] });

	const records = (await store.subscriptions(session)) ?? [];
	const { had, added } = analyzeTopicSafety(records, position.seq, topics);
	return {
		gap: null,
		cursors: [
			...had.map((topic) => ({ topic, after: position.seq })),
			...added.map((topic) => historyCursor(topic, newTopicHistory)),
		],
		position: position.seq,
		from: added.length > 0 ? 0 : position.seq,
	};
}

export interface ReplayInput {
	store: HistoryStore;
	session: string;
	cursors: readonly TopicCursor[];
	/** Events read per page. @default 256 */
	pageSize?: number;
}

/**
 * Reads the events a client missed, page by page, so a caller can write each page at the pace
 * its client reads instead of holding the whole history at once. Pages come in `seq` order with
 * each event once; the first page's `expired` lists topics whose position fell out of history.
 */
export async function* replayMissedMessages({
	store,
	session,
	cursors,
	pageSize = 256,
}: ReplayInput): AsyncGenerator<ReadResult> {
	let current = [...cursors];
	if (current.length === 0) return;
	for (;;) {
		const page = await store.read({ session, cursors: current, limit: pageSize });
		yield page;
		const last = page.events.at(-1);
		if (!last || page.events.length < pageSize) return;
		// Everything up to `last.seq` has been read. A "last N" window this page reached starts
		// behind it too; one the page did not reach starts later still, so it is asked for again
		// as is (`after: last.seq` would widen it to every event of the topic after the page).
		const reached = new Set(page.events.map((event) => event.topic));
		current = current.map((cursor) =>
			'last' in cursor && cursor.last !== Number.POSITIVE_INFINITY && !reached.has(cursor.topic)
				? cursor
				: {
						topic: cursor.topic,
						after: Math.max('after' in cursor ? cursor.after : 0, last.seq),
					},
		);
	}
}

/**
 * Wraps a `produceSSE` emitter so each event is first stored in `store` and sent with its
 * history id, for apps that stream without the hub but still want clients to resume.
 */
export function createEmitWithHistory<Topics extends TopicMap>(
	emit: Emit<Topics>,
	store: HistoryStore,
	options: { session?: string } = {},
): <K extends keyof Topics & string>(event: K, data: Topics[K]) => Promise<StoredEvent | null> {
	return async (event, data) => {
		assertTopicName(event); // before storing: a refused name must leave no trace in history
		const stored = await store.append({
			topic: event,
			data: serializeData(data),
			session: options.session,
		});
		const message = { event, data, id: stored.id } as Parameters<Emit<Topics>>[0];
		return emit(message) ? stored : null;
	};
}
