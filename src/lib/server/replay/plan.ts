// Planning a stream's replay: where the client stands, what each topic owes it, and any gap.
import { type HistoryStore, syncReadsOf, type TopicCursor } from '../history/index.js';
import { parseEventId } from '../wire/index.js';
import { analyzeTopicSafety } from './topic-safety.js';

/**
 * What a topic new to the client gets on connect: all its retained history, none of it, or
 * the last N events.
 */
export type NewTopicHistory = 'all' | 'none' | number;

/**
 * What a brand-new client (no position) gets of each topic on its first connection: one choice
 * for every topic, or one per topic (a topic not named gets `DEFAULT_INITIAL_HISTORY`).
 */
export type InitialHistory = NewTopicHistory | { readonly [topic: string]: NewTopicHistory };

/**
 * The last 10 events of each topic: enough for a page that shows no snapshot to look alive, and
 * a new tab's download stays bounded by topics × 10 however much the hub retains.
 */
export const DEFAULT_INITIAL_HISTORY = 10;

/** One topic's first-connection history under `initial`. */
export function initialHistoryOf(
	initial: InitialHistory | undefined,
	topic: string,
): NewTopicHistory {
	if (initial === undefined) return DEFAULT_INITIAL_HISTORY;
	if (typeof initial === 'object') return initial[topic] ?? DEFAULT_INITIAL_HISTORY;
	return initial;
}

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
	/** What a client with no position gets of each topic. @default DEFAULT_INITIAL_HISTORY */
	initialHistory?: InitialHistory;
	/**
	 * Topics to give their history even if the client had them (`?history=`): a stream shared by
	 * several tabs asks it for a tab that is new to a topic the others already had.
	 */
	history?: readonly string[];
	/**
	 * Topics to give their first-connection history (`initialHistory`) although the client had
	 * them (`?first=`): a shared stream asks it for a brand-new tab that joins it.
	 */
	first?: readonly string[];
	/**
	 * Topics the client states it holds every event of up to its position (`?had=`): one that
	 * starts from a `hub.snapshot` position. Only what came after the position is replayed.
	 */
	had?: readonly string[];
}

const NONE: readonly string[] = [];

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
	const { store, session, client, topics, newTopicHistory = 'all', initialHistory } = input;
	// A store in this process answers at once: no tick to wait per read.
	const sync = syncReadsOf(store);
	const [epoch, head] = sync
		? [sync.epoch(), sync.head()]
		: await Promise.all([store.epoch(), store.head()]);
	const { seq, gap } = positionOf(input, epoch, head);
	// A client with no position gets the first-connection history; one whose position cannot be
	// trusted (a gap) had the topics, so it gets what a topic new to it would.
	const fresh = (reason: SSEGapReason | null): ReplayPlan => ({
		gap: reason && { reason, topics: [...topics] },
		cursors: topics.map((topic) =>
			cursorOf(topic, head, reason ? newTopicHistory : initialHistoryOf(initialHistory, topic)),
		),
		epoch,
		position: head,
		added: [...topics],
	});
	if (gap) return fresh(gap);
	// Records are read only when they can matter: a resume, or a client that names itself.
	if (seq === null && client === undefined) return fresh(null);
	const records = (sync ? sync.cursorRecords(session) : await store.cursorRecords(session)) ?? [];
	let position = seq;
	if (position === null) {
		// No id although its streams stated their position: none of them reached the client
		// with an event. It is at least at the oldest start among its own records.
		const starts = records.filter((r) => r.client === client).map((r) => r.from);
		if (starts.length === 0) return fresh(null);
		position = Math.min(...starts);
	}
	const safety = analyzeTopicSafety(records, position, topics, client);
	const asked = input.history ?? NONE;
	const first = input.first ?? NONE;
	const stated = input.had ?? NONE;
	const cursors: TopicCursor[] = [];
	const added: string[] = [];
	for (const topic of topics) {
		// `?history=` first: when unsure, replay. A topic the hub is unsure of gets `newTopicHistory`
		// even if `?first=` names it, since the stream's client may have had it.
		let history: NewTopicHistory | null = null;
		if (asked.includes(topic)) history = newTopicHistory;
		else if (stated.includes(topic)) history = null;
		else if (!safety.had.includes(topic)) history = newTopicHistory;
		else if (first.includes(topic)) history = initialHistoryOf(initialHistory, topic);
		if (history !== null) added.push(topic);
		cursors.push(cursorOf(topic, position, history));
	}
	return { gap: null, cursors, epoch, position, added };
}
