// Planning a stream's replay: where the client stands, what each topic owes it, and any gap.
import type { HistoryStore, TopicCursor } from '../history/index.js';
import { parseEventId } from '../wire/index.js';
import { analyzeTopicSafety } from './topic-safety.js';

/**
 * What a topic new to the client gets on connect: all its retained history, none of it, or
 * the last N events.
 */
export type NewTopicHistory = 'all' | 'none' | number;

/** Why the history cannot cover the client's position (the `sse:gap` control event). */
export type SSEGapReason = 'expired' | 'epoch' | 'malformed';

/** The `sse:gap` control event's data (the client's `SSEGap`). */
export interface SSEGap {
	reason: SSEGapReason;
	topics: string[];
}

/** The first names of `SSEGap` and `SSEGapReason`. */
export type Gap = SSEGap;
export type GapReason = SSEGapReason;

export interface ReplayPlan {
	/** Known before reading: a foreign epoch or a malformed id. (`expired` comes with the first page.) */
	gap: SSEGap | null;
	cursors: TopicCursor[];
	/** The epoch positions of this stream count in. */
	epoch: string;
	/**
	 * The stream's position from its first byte: the client's, when valid in this epoch; else (a
	 * brand-new client, or after a gap) the head when the plan was made.
	 */
	position: number;
	/** Topics given their history on this stream (new to the client), for its cursor record. */
	added: string[];
}

export interface PlanReplayInput {
	store: HistoryStore;
	session: string;
	/** The id the client named itself with (`SSEClient` sends one), so only its own records count. */
	client?: string;
	topics: readonly string[];
	/** The `Last-Event-ID` header, else the `lastEventId` query parameter; `null` for a fresh client. */
	lastEventId: string | null;
	newTopicHistory?: NewTopicHistory;
	/**
	 * Topics to give their history even if the client had them (`?history=`): a stream shared by
	 * several tabs asks it for a tab that is new to a topic the others already had.
	 */
	history?: readonly string[];
}

/** A topic's cursor: what came after `position`, and for a new topic its history too. */
function cursorOf(topic: string, position: number, history: NewTopicHistory | null): TopicCursor {
	if (history === null || history === 'none' || history === 0) return { topic, after: position };
	return { topic, after: position, last: history === 'all' ? Number.POSITIVE_INFINITY : history };
}

/** The position the client sent, when it is one of this epoch; a gap when it cannot be trusted. */
function positionOf(
	input: PlanReplayInput,
	epoch: string,
	head: number,
): { seq: number | null; gap: SSEGapReason | null } {
	if (input.lastEventId) {
		const position = parseEventId(input.lastEventId);
		// A seq past the head names events that never existed here: as untrustworthy as garbage.
		if (!position || (position.epoch === epoch && position.seq > head)) {
			return { seq: null, gap: 'malformed' };
		}
		if (position.epoch !== epoch) return { seq: null, gap: 'epoch' };
		return { seq: position.seq, gap: null };
	}
	return { seq: null, gap: null };
}

/**
 * Decides, for each requested topic, where its replay starts: after the client's position, and
 * for a topic new to it (or one the hub is unsure of) its `newTopicHistory` too.
 */
export async function planReplay(input: PlanReplayInput): Promise<ReplayPlan> {
	const { store, session, client, topics, newTopicHistory = 'all' } = input;
	const [epoch, head] = await Promise.all([store.epoch(), store.head()]);
	const { seq, gap } = positionOf(input, epoch, head);
	const fresh = (reason: SSEGapReason | null): ReplayPlan => ({
		gap: reason && { reason, topics: [...topics] },
		cursors: topics.map((topic) => cursorOf(topic, head, newTopicHistory)),
		epoch,
		position: head,
		added: [...topics],
	});
	if (gap) return fresh(gap);
	// Records are read only when they can matter: a resume, or a client that names itself.
	if (seq === null && client === undefined) return fresh(null);
	const records = (await store.cursorRecords(session)) ?? [];
	let position = seq;
	if (position === null) {
		// No id although its streams stated their position: none of them reached the client
		// with an event. It is at least at the oldest start among its own records.
		const starts = records.filter((r) => r.client === client).map((r) => r.from);
		if (starts.length === 0) return fresh(null);
		position = Math.min(...starts);
	}
	const safety = analyzeTopicSafety(records, position, topics, client);
	const asked = new Set(input.history ?? []);
	const had = safety.had.filter((topic) => !asked.has(topic));
	const added = [...safety.added, ...safety.had.filter((topic) => asked.has(topic))];
	return {
		gap: null,
		cursors: [
			...had.map((topic) => cursorOf(topic, position, null)),
			...added.map((topic) => cursorOf(topic, position, newTopicHistory)),
		],
		epoch,
		position,
		added,
	};
}
