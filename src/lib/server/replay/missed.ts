// Reading what a client missed from history, page by page; and the seed's store-then-emit helper.
import type { HistoryStore, ReadResult, StoredEvent, TopicCursor } from '../history/index.js';
import type { Emit, TopicMap, TopicMapOf } from '../transport/index.js';
import { assertTopicName, serializeData } from '../wire/index.js';

export interface ReplayInput {
	store: HistoryStore;
	session: string;
	cursors: readonly TopicCursor[];
	/** Events read per page. @default DEFAULT_PAGE_SIZE */
	pageSize?: number;
}

/** Events read per page of a replay. */
export const DEFAULT_PAGE_SIZE = 256;

/**
 * Reads the events a client missed, page by page, so a caller can write each page at the pace
 * its client reads instead of holding the whole history at once. Pages come in `seq` order with
 * each event once; the first page's `expired` lists topics whose position fell out of history.
 */
export async function* replayMissedMessages({
	store,
	session,
	cursors,
	pageSize = DEFAULT_PAGE_SIZE,
}: ReplayInput): AsyncGenerator<ReadResult> {
	let current: readonly TopicCursor[] | null = cursors.length > 0 ? cursors : null;
	while (current) {
		const page = await store.read({ session, cursors: [...current], limit: pageSize });
		yield page;
		current = cursorsAfter(current, page, pageSize);
	}
}

/** The cursors of the page after `page` (read with `cursors`), or `null` when it was the last. */
export function cursorsAfter(
	cursors: readonly TopicCursor[],
	page: ReadResult,
	pageSize: number,
): TopicCursor[] | null {
	const last = page.events.at(-1);
	if (!last || page.events.length < pageSize) return null;
	// Everything up to `last.seq` has been read. A topic the page reached goes on from there; one
	// it did not reach starts later still (or has nothing below), so it is asked for again as
	// is: `after: last.seq` would widen a "last N" window to every event after the page.
	const reached = new Set(page.events.map((event) => event.topic));
	return cursors.map((cursor) =>
		reached.has(cursor.topic) ? { topic: cursor.topic, after: last.seq } : cursor,
	);
}

/**
 * Wraps a `produceSSE` emitter so each event is first stored in `store` and sent with its
 * history id, for apps that stream without the hub but still want clients to resume.
 */
export function createEmitWithHistory<Topics extends TopicMapOf<Topics> = TopicMap>(
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
