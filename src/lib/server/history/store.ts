// The contract every history store keeps (`memoryHistory`, `redisHistory`). The hub assigns no
// sequence numbers and keeps no history itself: it asks the store, so several processes that
// share a store share one history.

/** Ended cursor records a store keeps per session, beyond the open ones. */
export const MAX_ENDED_RECORDS = 32;

/** An event as the history keeps it. */
export interface StoredEvent {
	/** Hub-wide increasing sequence number (1, 2, …) within one epoch. */
	seq: number;
	/** `<epoch>-<seq>`, the SSE `id` the client echoes to resume. */
	id: string;
	topic: string;
	/** The data as JSON text, serialized once when published. */
	data: string;
	/** Set for an event published to one session only. */
	session?: string;
	/** When it was stored, in ms since 1970. */
	time: number;
}

export interface AppendInput {
	topic: string;
	/** JSON text. */
	data: string;
	/** Publish to this session only; otherwise to every open stream of the topic. */
	session?: string;
	/**
	 * Names the event for a producer that may send it twice (a retried webhook, a call that timed
	 * out but went through): while the first event of this key is younger than the store's
	 * `maxAgeMs`, `append` stores nothing and resolves to that event, marked `duplicate`. One key
	 * names one event store-wide, whatever its topic or session. A non-empty string of at most
	 * `MAX_IDEMPOTENCY_KEY_LENGTH` characters.
	 */
	idempotencyKey?: string;
}

/** What `append` resolves to: the event stored, or the one stored before under the same key. */
export interface AppendedEvent extends StoredEvent {
	/** Set when nothing was stored: an event with this `idempotencyKey` already was. */
	duplicate?: true;
}

/** Where to start reading one topic. */
export type TopicCursor =
	/**
	 * Every retained event after this `seq` (the client's position), and with `last` the last
	 * `last` retained events too (`Infinity` for all): a topic new to the client, which must not
	 * miss what came after its position either. An `after` older than what is retained is
	 * reported in `expired`.
	 */
	| { topic: string; after: number; last?: number }
	/** The last `last` retained events only (`Infinity` for all). */
	| { topic: string; last: number };

export interface ReadQuery {
	/** Session-scoped events of this session are merged with the topics' broadcast events. */
	session: string;
	cursors: TopicCursor[];
	/** At most this many events, the lowest `seq` first. */
	limit: number;
}

export interface ReadResult {
	/** In `seq` order, each once. */
	events: StoredEvent[];
	/**
	 * Topics with an `after` cursor whose position is older than what is retained: events the
	 * client never got were dropped by the bounds. Only meaningful on the first page.
	 */
	expired: string[];
}

/**
 * A cursor record: what one stream carried and the positions it covered, kept so that a later
 * reconnect of the same session can tell which of its topics are new to it (topic safety).
 */
export interface CursorRecord {
	/** Unique per connection. */
	connection: string;
	/** The id the client named itself with (`SSEClient` does), when it did. */
	client?: string;
	topics: readonly string[];
	/**
	 * Topics new to the client on this connection, given their history: at or below `from` the
	 * client may hold only part of it. (Records written before this field have none.)
	 */
	added?: readonly string[];
	/** The position the connection started from (the one it stated in its first bytes). */
	from: number;
	/** The highest position it can reach: the head when it ended; `null` while it is open. */
	to: number | null;
}

export interface HistoryStats {
	epoch: string;
	/** Highest `seq` assigned so far. */
	head: number;
	sessions: number;
	/** Events retained, in session buffers and topic logs together. */
	events: number;
}

/**
 * What a store's live feed tells its listener. Between `onDoubt` and the `onResync` that follows
 * it, the feed may miss events: a listener holds back what it would deliver live until it has
 * caught up from `read`, since an event the feed brings then does not mean the ones before it came.
 */
export interface LiveHandlers {
	/** An event appended by any process, in `seq` order (while in doubt: with gaps, maybe). */
	onEvent(event: StoredEvent): void;
	/**
	 * The feed may be missing events from now on: a connection it relies on was lost (either of
	 * them, for a store with one to listen and one to read). Called once per interruption of a
	 * feed that was listening (and at once to a listener that joins one in doubt).
	 */
	onDoubt(): void;
	/**
	 * After `onDoubt`, once the feed listens again and history can be read: every event appended
	 * from now on comes through `onEvent`, and what the feed missed is in `read`. Called once per
	 * `onDoubt` (not at all if the feed is stopped first).
	 */
	onResync(): void;
}

export interface HistoryStore {
	/** Names this store's lifetime; part of every id. A position from another epoch is a gap. */
	epoch(): Promise<string>;
	/** The highest `seq` assigned so far (0 before the first event). */
	head(): Promise<number>;
	/** Stores an event under the next `seq` (unless its `idempotencyKey` names one stored before). */
	append(input: AppendInput): Promise<AppendedEvent>;
	/** Retained events of the given topics and session, merged in `seq` order. */
	read(query: ReadQuery): Promise<ReadResult>;
	/** Adds or replaces (by `connection`) a cursor record of `session`, creating the session. */
	setCursorRecord(session: string, record: CursorRecord): Promise<void>;
	/** The session's cursor records, or `null` for a session the store does not know. */
	cursorRecords(session: string): Promise<CursorRecord[] | null>;
	stats(): Promise<HistoryStats>;
	/**
	 * The live feed of a store shared by several processes: every event appended by any of them,
	 * in `seq` order. A hub whose store has it delivers what the feed brings (its own appends
	 * included) instead of what it appends itself. `onDoubt` comes the moment the feed may be
	 * missing events and `onResync` when it is whole again: the hub holds every stream's live
	 * events in between, then catches each one up from `read` (see `LiveHandlers`).
	 * Resolves, once listening, to the function that stops it. A store private to one process
	 * leaves it out.
	 */
	listen?(handlers: LiveHandlers): Promise<() => Promise<void>>;
	/** Frees timers and connections. */
	close(): Promise<void>;
}

/** The seed's name for a `CursorRecord`. */
export type SubscriptionRecord = CursorRecord;

/**
 * A store written against the seed's method names: `setSubscription` and `subscriptions` for the
 * cursor records, `subscribe` for the live feed.
 */
export type SeedHistoryStore = Omit<
	HistoryStore,
	'setCursorRecord' | 'cursorRecords' | 'listen'
> & {
	setSubscription(session: string, record: CursorRecord): Promise<void>;
	subscriptions(session: string): Promise<CursorRecord[] | null>;
	subscribe?(handlers: LiveHandlers): Promise<() => Promise<void>>;
};

/** `store` as a `HistoryStore`: one with the seed's method names is read through the current ones. */
export function currentStore(store: HistoryStore | SeedHistoryStore): HistoryStore {
	if ('setCursorRecord' in store) return store;
	const seed = store;
	return {
		epoch: () => seed.epoch(),
		head: () => seed.head(),
		append: (input) => seed.append(input),
		read: (query) => seed.read(query),
		setCursorRecord: (session, record) => seed.setSubscription(session, record),
		cursorRecords: (session) => seed.subscriptions(session),
		stats: () => seed.stats(),
		listen:
			seed.subscribe &&
			((handlers) => (seed.subscribe as NonNullable<typeof seed.subscribe>)(handlers)),
		close: () => seed.close(),
	};
}
