// SSEClient — one Server-Sent Events connection for many typed topics, as Svelte 5 runes.
//
// This file imports only from `svelte`: copy it into any Svelte 5 project as it is.
//
// ```svelte
// <script lang="ts">
//   import { SSEClient } from 'svelte-sse-kit';
//   import { topics } from '$lib/topics'; // defineTopics({ chat: z.object({ text: z.string() }), … })
//   const stream = new SSEClient('/api/events', {
//     definition: topics,
//     topics: { chat: (m) => messages.push(m.text) },
//   });
//   let messages = $state<string[]>([]);
// </script>
// <p>{stream.status} · {stream.topicCounters.chat ?? 0} messages</p>
// ```
//
// Inside a component it connects on mount and closes on destroy. It resumes across reconnects
// by sending its last event id, and drops any event it has already delivered, so a server that
// replays history (svelte-sse-kit's hub) never makes it miss or repeat one.
import { getContext, hasContext, setContext, untrack } from 'svelte';

/** Topic name → the type of its data: the default topic map, where any name goes. */
export type TopicMap = Record<string, unknown>;

/**
 * What a topic map must be, as `Topics extends TopicMapOf<Topics>`: an object type, a `type` or an
 * `interface`. (An `interface` has no index signature, so it is no `Record<string, unknown>`.)
 */
export type TopicMapOf<Topics> = { [K in keyof Topics]: unknown };

/** `idle` (not connected, by choice) → `connecting` → `connected`; `error` while it waits to retry. */
export type SSEStatus = 'idle' | 'connecting' | 'connected' | 'error';

/** What went wrong, for code that branches on it. */
export type SSEClientErrorCode =
	/** The connection failed; the client retries with backoff. */
	| 'connection'
	/** The server answered 401 or 403: the client stops until `connect()` is called again. */
	| 'unauthorized'
	/** The server answered 400 (unknown or too many topics): a bug to fix; the client stops. */
	| 'bad_request'
	/** No `EventSource` here (old browser, server, node): pass the `EventSource` option. */
	| 'unsupported'
	/** An event's data was not JSON. */
	| 'parse'
	/** An event's data failed its topic's schema. */
	| 'schema'
	/** A topic handler threw. */
	| 'handler';

export class SSEClientError extends Error {
	override name = 'SSEClientError';
	readonly code: SSEClientErrorCode;
	/** The topic of the event, for `parse`, `schema` and `handler`. */
	readonly topic?: string;
	/** The HTTP status, when the `EventSource` implementation reports it. */
	readonly status?: number;

	constructor(
		code: SSEClientErrorCode,
		message: string,
		extra: { topic?: string; status?: number; cause?: unknown } = {},
	) {
		super(message, { cause: extra.cause });
		this.code = code;
		this.topic = extra.topic;
		this.status = extra.status;
	}
}

/** `sse:gap`: history could not cover the client's position; refetch what you show. */
export interface SSEGap {
	reason: 'expired' | 'epoch' | 'malformed';
	topics: string[];
}

/** Facts about one delivered event. */
export interface SSEEventMeta<K extends string = string> {
	topic: K;
	/** The SSE id (`<epoch>-<seq>` from the hub), `''` if the server sent none. */
	id: string;
}

export type TopicHandler<T, K extends string = string> = (data: T, meta: SSEEventMeta<K>) => void;

type SchemaResult<Output = unknown> =
	| { value: Output; issues?: undefined }
	| {
			issues: ReadonlyArray<{
				message: string;
				path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
			}>;
	  };

/** A Standard Schema (zod, valibot, arktype…): only its `~standard.validate` is used. */
export interface StandardSchemaLike<Output = unknown> {
	readonly '~standard': {
		validate(value: unknown): SchemaResult<Output> | Promise<SchemaResult<Output>>;
	};
}

/**
 * The topics of an app, defined once for the hub and the client: their names, their schemas, and
 * (as a type only) the data of each. Made by `defineTopics`; frozen.
 */
export interface TopicsDefinition<Topics extends TopicMapOf<Topics> = TopicMap> {
	/** Every topic, in the order defined. */
	readonly names: readonly (keyof Topics & string)[];
	/** The schema of each topic defined with one (not those defined with `null`). */
	readonly schemas: { readonly [K in keyof Topics]?: StandardSchemaLike<Topics[K]> };
	/** Type only, never set: the data of each topic (read it with `TopicsOf`). */
	readonly '~topics'?: Topics;
}

/** The topic map of a definition: `type Topics = TopicsOf<typeof topics>`. */
export type TopicsOf<Definition> =
	Definition extends TopicsDefinition<infer Topics> ? Topics : never;

// A copy of the wire protocol's rule for topic names (the server's is in its wire layer; this file
// imports only from `svelte`): protocol-agreement.test.ts holds the two to each other.
const TOPIC_NAME = /^[A-Za-z0-9_.:-]{1,128}$/;
const RESERVED_PREFIX = 'sse:';

/** Whether `name` is a topic name the protocol accepts (and not a control event's). */
export function isTopicName(name: unknown): name is string {
	return typeof name === 'string' && TOPIC_NAME.test(name) && !name.startsWith(RESERVED_PREFIX);
}

/** Whether `value` is a Standard Schema: it has the `~standard.validate` the client and hub call. */
export function isStandardSchema(value: unknown): value is StandardSchemaLike {
	const standard = (value as { '~standard'?: { validate?: unknown } } | null)?.['~standard'];
	return typeof standard?.validate === 'function';
}

/** A value as an error message names it: `undefined`, `a function`, `an array`, `string "x"`… */
function described(value: unknown): string {
	if (value === null || value === undefined) return String(value);
	if (typeof value === 'function') return 'a function';
	if (Array.isArray(value)) return 'an array';
	if (typeof value === 'object') return 'an object without `~standard.validate`';
	return `${typeof value} ${typeof value === 'string' ? JSON.stringify(value) : String(value)}`;
}

/**
 * Defines the topics once, for both sides: each topic's name, and a Standard Schema (zod, valibot,
 * arktype…) that checks its data, or `null` for none. The types come from the schemas; a topic
 * defined with `null` is `unknown` unless the topic map is given as the generic:
 *
 * ```ts
 * // src/lib/topics.ts: no server code, so pages and the server both import it
 * export const topics = defineTopics({
 *   chat: z.object({ user: z.string(), text: z.string() }),
 *   presence: null, // unknown data, unchecked
 * });
 * // or, typed by hand (each schema must fit its type):
 * export const topics = defineTopics<{ chat: Chat; presence: Presence }>({ chat: chatSchema, presence: null });
 * ```
 *
 * Throws a `TypeError` for a name the protocol refuses, or a value that is neither a schema nor `null`.
 */
export function defineTopics<Topics extends TopicMapOf<Topics>>(
	schemas: {
		[K in keyof Topics]: StandardSchemaLike<Topics[K]> | null;
	},
): TopicsDefinition<Topics> {
	if (typeof schemas !== 'object' || schemas === null || Array.isArray(schemas)) {
		throw new TypeError(
			`defineTopics: pass an object of topic → schema (or null), such as defineTopics({ chat: z.object({ text: z.string() }) }); got ${described(schemas)}.`,
		);
	}
	const names = Object.keys(schemas);
	if (names.length === 0) throw new TypeError('defineTopics: define at least one topic.');
	const checked: Record<string, StandardSchemaLike> = {};
	for (const name of names) {
		if (!isTopicName(name)) {
			throw new TypeError(
				`defineTopics: ${JSON.stringify(name)} is not a topic name: use 1 to 128 letters, digits and _ . : - (not starting with "${RESERVED_PREFIX}", which control events use).`,
			);
		}
		const schema: unknown = (schemas as Record<string, unknown>)[name];
		if (schema === null) continue;
		if (!isStandardSchema(schema)) {
			throw new TypeError(
				`defineTopics: "${name}" must be a Standard Schema (zod, valibot, arktype…), or null for none; got ${described(schema)}.`,
			);
		}
		checked[name] = schema;
	}
	return Object.freeze({
		names: Object.freeze(names as (keyof Topics & string)[]),
		schemas: Object.freeze(checked) as TopicsDefinition<Topics>['schemas'],
	});
}

/** The part of `EventSource` the client uses; the native one, `eventsource` and `event-source-polyfill` fit. */
export interface EventSourceLike {
	readonly readyState: number;
	addEventListener(type: string, listener: (event: MessageEvent) => void): void;
	close(): void;
}

export type EventSourceConstructor = new (
	url: string,
	// Implementations take different init objects (headers, fetch, heartbeatTimeout…).
	// biome-ignore lint/suspicious/noExplicitAny: each EventSource implementation types its own init.
	init?: any,
) => EventSourceLike;

export interface SSEClientOptions<Topics extends TopicMapOf<Topics>> {
	/**
	 * The topics as `defineTopics` defined them: the client takes its types from it (no generic
	 * needed), refuses a topic it does not define, and can check events with its schemas (`validate`).
	 */
	definition?: TopicsDefinition<Topics>;
	/**
	 * The topics subscribed to at first: a handler per topic, or just their names (listen later
	 * with `on`, as components that share one client through the context do). The client's types
	 * come from `definition` or the generic, never from this (`NoInfer`).
	 * @default every topic of `definition`; none without one
	 */
	topics?: NoInfer<
		| { [K in keyof Topics & string]?: TopicHandler<Topics[K], K> }
		| readonly (keyof Topics & string)[]
	>;
	/**
	 * Check each event's data with its topic's schema in `definition` before any handler sees it;
	 * what fails goes to `onError` (`schema`). Off by default: the hub checked it on publish.
	 * @default false
	 */
	validate?: boolean;
	/**
	 * Connect at once: on mount inside a component (and close on destroy), or right away in a
	 * browser outside one. Never during SSR.
	 * @default true
	 */
	autoConnect?: boolean;
	/** Log connection steps and events to the console. @default false */
	debug?: boolean;
	/** First wait before reconnecting after the browser gives up, in ms; doubles each time. @default 3000 */
	reconnectWait?: number;
	/** Longest wait between reconnects, in ms. @default 30000 */
	maxReconnectWait?: number;
	/**
	 * A Standard Schema per topic; data that fails it goes to `onError`, not to the handler. With
	 * `validate`, for topics the definition leaves without one (a topic may not have both).
	 */
	schemas?: { [K in keyof Topics]?: StandardSchemaLike<Topics[K]> };
	/** The `EventSource` to use (e.g. `EventSourcePolyfill` for headers). @default globalThis.EventSource */
	EventSource?: EventSourceConstructor;
	/**
	 * Extra init for the `EventSource` constructor, such as the polyfill's `headers`. A function
	 * is called at every connect, so a reconnect uses fresh credentials.
	 */
	eventSourceInit?: Record<string, unknown> | (() => Record<string, unknown>);
	/** Send cookies cross-origin. @default false */
	withCredentials?: boolean;
	/** Every error: connection, parse, schema and handler failures. */
	onError?: (error: SSEClientError) => void;
	/** History could not cover this client's position: refetch the state you show. */
	onGap?: (gap: SSEGap) => void;
	/**
	 * The server replays history and says when it is done (`sse:ready`), as svelte-sse-kit's hub
	 * does. `false` for a plain SSE server: `replaying` is false once the stream is open. (Without
	 * it, a first event whose id is not a hub's ends `replaying` too.)
	 * @default true
	 */
	replay?: boolean;
	/**
	 * Share one stream with the other tabs of this browser that use the same endpoint (and
	 * `withCredentials`): one tab holds the `EventSource` for the topics all of them want and
	 * passes its events on. Needs the Web Locks API and `BroadcastChannel` (a secure context);
	 * without them, or with `false`, each tab connects on its own.
	 * @default true
	 */
	share?: boolean;
	/**
	 * Start from this position, as if every event of the initial `topics` up to it had been
	 * delivered: the `lastEventId` of a `hub.snapshot` a `load` function rendered. The stream
	 * replays exactly what came after it (the hub is told these topics need no history), and
	 * `lastEventID` shows it until an event moves it on.
	 */
	lastEventID?: string | null;
}

/** How a client shares its stream with the other tabs; `null` when it has a stream of its own. */
export interface SSESharing {
	/** Whether this tab holds the shared `EventSource`. */
	leader: boolean;
	/** Clients sharing the stream, this one included (one per tab that uses the endpoint). */
	tabs: number;
}

// [spec] readyState CLOSED: the EventSource failed the connection and never retries by itself.
const CLOSED = 2;
const EVENT_ID = /^([A-Za-z0-9_]+)-(\d{1,15})$/;
/** Gaps after which ids no longer compare with those delivered before (a new or rewound store). */
const RESET_GAPS: ReadonlySet<string> = new Set(['epoch', 'malformed']);

/**
 * A random name for one client, sent as `client=` so the hub tells its streams from those of the
 * other tabs of the same session. Not a secret: the session cookie is what authenticates.
 */
function newClientId(): string {
	const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
	const bytes = new Uint8Array(22);
	if (globalThis.crypto?.getRandomValues) globalThis.crypto.getRandomValues(bytes);
	else for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(Math.random() * 256);
	let id = '';
	for (const byte of bytes) id += alphabet[byte & 63];
	return id;
}

type AnyHandler = TopicHandler<unknown>;

/** An error as the leader tab tells it to the others (an Error does not cross a channel whole). */
interface TabError {
	code: SSEClientErrorCode;
	message: string;
	status?: number;
}

/** What the tabs sharing one stream tell each other. */
type TabMessage =
	/**
	 * A client's topics, and what it needs the next stream to replay for it: everything after
	 * `since` (a tab back from the back/forward cache, or started from a snapshot), the history of
	 * `history` (topics it added), the first-connection history of `first` (a brand-new tab).
	 */
	| {
			t: 'join';
			member: string;
			topics: string[];
			since: string | null;
			history: string[];
			first: string[];
	  }
	| { t: 'leave'; member: string }
	/** A new leader asks every client to join again. */
	| { t: 'who' }
	/** The leader opened a stream (from `start`) that replays what these clients asked for. */
	| { t: 'opened'; served: string[]; start: string | null }
	| { t: 'event'; topic: string; id: string; data: string }
	| { t: 'gap'; data: string }
	| { t: 'ready'; data: string }
	| {
			t: 'state';
			/** The member holding the stream. */
			leader: string;
			status: SSEStatus;
			replaying: boolean;
			error: TabError | null;
			/** The `client` id the shared stream names itself with; a next leader keeps it. */
			client: string;
			tabs: number;
	  };

type Join = Extract<TabMessage, { t: 'join' }>;

/** What a tab group needs from the client that joined it. */
interface TabMember {
	/** This client's join message as it stands. */
	describe(): Join;
	/** This client holds the lock now: it opens the shared stream. */
	lead(): void;
	/** Every message of the other clients (the group keeps the member table itself). */
	receive(message: TabMessage): void;
}

/**
 * The clients of one endpoint across the tabs of a browser: a `BroadcastChannel` to talk, and a
 * Web Lock to choose the leader. The browser releases a lock when its tab closes or crashes, so
 * the next waiting client takes over; every client keeps the member table, so it knows the
 * topics to open with. Each client also holds a lock of its own while it is a member: one that
 * goes without a word (its renderer crashed, the browser discarded the tab) lets go of it, and
 * the others, queued for it, take it out of their table.
 */
class TabGroup {
	readonly id = newClientId();
	readonly #name: string;
	readonly #member: TabMember;
	readonly #channel: BroadcastChannel;
	/** The other clients' joins, by member id. */
	readonly members = new Map<string, Join>();
	leading = false;
	/** Resolves the held lock (gives it up). */
	#release: (() => void) | undefined;
	/** Withdraws the pending lock request: a pending one keeps a page out of the bfcache too. */
	#withdraw: AbortController | undefined;
	/** Withdraws the request for this client's own lock, or gives that lock up. */
	readonly #hold = new AbortController();
	#releaseOwn: (() => void) | undefined;
	/** Holding its own lock: only then may the others hear of this client (see `#watch`). */
	#announced = false;
	/** The requests for the other members' own locks, by member id. */
	readonly #watches = new Map<string, AbortController>();
	#left = false;

	constructor(name: string, member: TabMember) {
		this.#name = name;
		this.#member = member;
		this.#channel = new BroadcastChannel(name);
		this.#channel.onmessage = (event: MessageEvent<TabMessage>) => this.#onMessage(event.data);
	}

	/** Takes its own lock; holding it, says who it is and queues for the leader's lock. */
	start(): void {
		navigator.locks
			.request(ownLockName(this.#name, this.id), { signal: this.#hold.signal }, () => {
				if (this.#left) return undefined;
				return new Promise<void>((resolve) => {
					this.#releaseOwn = resolve;
					this.#announced = true;
					this.post(this.#member.describe());
					this.#requestLock();
				});
			})
			.catch(() => {}); // withdrawn (an AbortError): nothing to do
	}

	/** Nothing before this client holds its own lock: the others would think it gone. */
	post(message: TabMessage): void {
		if (this.#announced && !this.#left) this.#channel.postMessage(message);
	}

	/** Every member's topics and this client's, without repeats. */
	union(own: readonly string[]): string[] {
		const topics = new Set(own);
		for (const join of this.members.values()) for (const topic of join.topics) topics.add(topic);
		return [...topics];
	}

	/** Leaves for good: gives up the lock (or the request for it) and the channel. */
	leave(): void {
		if (this.#left) return;
		this.post({ t: 'leave', member: this.id });
		this.#left = true;
		this.#withdraw?.abort();
		this.#release?.();
		this.#hold.abort();
		this.#releaseOwn?.();
		for (const watch of this.#watches.values()) watch.abort();
		this.#watches.clear();
		this.leading = false;
		this.#channel.close();
	}

	#requestLock(): void {
		const withdraw = new AbortController();
		this.#withdraw = withdraw;
		navigator.locks
			.request(this.#name, { signal: withdraw.signal }, () => {
				if (this.#left) return undefined;
				this.#withdraw = undefined;
				this.leading = true;
				return new Promise<void>((resolve) => {
					this.#release = resolve;
					this.#member.lead();
				});
			})
			.catch(() => {}); // withdrawn (an AbortError): nothing to do
	}

	/**
	 * Queues for a member's own lock: granted, the member has let go of it, said goodbye or not.
	 * It gives the lock back at once.
	 */
	#watch(member: string): void {
		if (this.#watches.has(member) || this.#left) return;
		const watch = new AbortController();
		this.#watches.set(member, watch);
		navigator.locks
			.request(ownLockName(this.#name, member), { signal: watch.signal }, () => {
				this.#watches.delete(member);
				if (!this.#left && this.members.has(member)) this.#onMessage({ t: 'leave', member });
			})
			.catch(() => {}); // withdrawn: it said goodbye, or this client left
	}

	#onMessage(message: TabMessage): void {
		if (message.t === 'join') {
			this.members.set(message.member, message);
			this.#watch(message.member);
		} else if (message.t === 'leave') {
			this.members.delete(message.member);
			this.#watches.get(message.member)?.abort();
			this.#watches.delete(message.member);
		} else if (message.t === 'who') this.post(this.#member.describe());
		this.#member.receive(message);
	}
}

/** Whether a member waits for a stream that replays something for it. */
function needsReplay(join: Join): boolean {
	return join.since !== null || join.history.length > 0 || join.first.length > 0;
}

/** The lock a member holds while it is one (see `TabGroup`). */
function ownLockName(group: string, member: string): string {
	return `${group} member ${member}`;
}

/** The lock and channel name of an endpoint's shared stream: one per URL and credentials mode. */
function groupName(url: string, withCredentials: boolean): string {
	return `svelte-sse-kit ${new URL(url, location.href).href} ${withCredentials ? 'credentials' : 'anonymous'}`;
}

/**
 * The older of two hub positions of one epoch (`null`: none yet, so the other); `undefined`
 * when they are of different epochs and do not compare.
 */
function olderPosition(a: string | null, b: string): string | null | undefined {
	if (a === null) return b;
	const x = EVENT_ID.exec(a);
	const y = EVENT_ID.exec(b);
	if (!x || !y || x[1] !== y[1]) return undefined;
	return Number(y[2]) < Number(x[2]) ? b : a;
}

/** `init.headers` (the polyfills' option), when it is a plain record of strings. */
function headersOf(init: Record<string, unknown>): Record<string, string> | undefined {
	const { headers } = init;
	if (typeof headers !== 'object' || headers === null) return undefined;
	const plain: Record<string, string> = {};
	for (const [name, value] of Object.entries(headers)) {
		if (typeof value === 'string') plain[name] = value;
	}
	return plain;
}

/** A response's `Retry-After` (seconds, or an HTTP date) in ms; 0 without one. */
function retryAfterMs(headers: Headers): number {
	const value = headers.get('retry-after');
	if (!value) return 0;
	const seconds = Number(value);
	if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
	const date = Date.parse(value);
	return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
}

/** Whether this browser can share a stream across tabs. */
function canShare(): boolean {
	return (
		typeof BroadcastChannel === 'function' &&
		typeof navigator !== 'undefined' &&
		typeof navigator.locks?.request === 'function' &&
		typeof location !== 'undefined'
	);
}

/**
 * The schemas events are checked with: `schemas`, plus the definition's with `validate`. A topic
 * with a schema in both is refused: which one would hold is a guess.
 */
function receiveSchemas<Topics extends TopicMapOf<Topics>>(
	options: SSEClientOptions<Topics>,
): ReadonlyMap<string, StandardSchemaLike> {
	const given = Object.entries((options.schemas ?? {}) as Record<string, unknown>);
	const schemas = new Map<string, StandardSchemaLike>();
	for (const [topic, schema] of given) {
		if (schema === undefined) continue;
		if (!isStandardSchema(schema)) {
			throw new TypeError(
				`SSEClient: schemas.${topic} must be a Standard Schema (zod, valibot, arktype…); got ${described(schema)}.`,
			);
		}
		schemas.set(topic, schema);
	}
	if (!options.validate) return schemas;
	if (!options.definition) {
		throw new TypeError(
			'SSEClient: `validate` checks events with the schemas of `definition`: pass the definition too.',
		);
	}
	const defined = options.definition.schemas as Readonly<Record<string, StandardSchemaLike>>;
	for (const [topic, schema] of Object.entries(defined)) {
		if (schemas.has(topic)) {
			throw new TypeError(
				`SSEClient: "${topic}" has a schema in the topics definition and in \`schemas\`: give it once.`,
			);
		}
		schemas.set(topic, schema);
	}
	return schemas;
}

/** A Svelte 5 runes client for one multi-topic SSE endpoint. */
export class SSEClient<Topics extends TopicMapOf<Topics> = TopicMap> {
	#status = $state<SSEStatus>('idle');
	#error = $state<SSEClientError | null>(null);
	#lastEventID = $state<string | null>(null);
	#topicCounters = $state<Partial<Record<keyof Topics & string, number>>>({});
	#topics = $state<(keyof Topics & string)[]>([]);
	#replaying = $state(false);
	#sharing = $state<SSESharing | null>(null);

	readonly #url: string;
	readonly #clientId = newClientId();
	/** The id the stream names itself with: this client's, or the shared stream's (kept across leaders). */
	#streamClient = this.#clientId;
	/** The tabs this client shares a stream with, while it does. */
	#group: TabGroup | null = null;
	/** The member holding the shared stream, as its last state message said. */
	#leader: string | null = null;
	/** What this client needs the next shared stream to replay for it (see the `join` message). */
	#needs: { since: string | null; history: string[]; first: string[] } | null = null;
	/**
	 * The position this client was started from (`lastEventID` option, a `hub.snapshot`) and the
	 * topics it holds up to there: a stream that starts at it says so (`?had=`), so the hub
	 * replays only what came after, not those topics' history.
	 */
	#startPosition: { id: string; topics: readonly string[] } | null = null;
	/**
	 * Events that wait for the stream that replays them: those of topics new to this client, or
	 * all of them until a rejoin is served. Delivered now, they would make the replay's older
	 * events look like duplicates.
	 */
	#held: Set<string> | 'all' | null = null;
	/** The topics the current stream was opened with (as leader: every member's). */
	#streamTopics: readonly string[] = [];
	/** The page is in the back/forward cache or frozen: the stream waits until it is back. */
	#suspended = false;
	/**
	 * The leader reopened a connected stream for a member (topics changed, a tab came): until its
	 * `sse:ready`, the tabs that asked for nothing keep seeing it connected, not replaying.
	 */
	#seamless = false;
	/** This client asked the current shared stream for a replay and waits for its `sse:ready`. */
	#awaitingReady = false;
	readonly #options: SSEClientOptions<Topics>;
	readonly #listeners = new Map<string, Set<AnyHandler>>();
	#source: EventSourceLike | null = null;
	#retryTimer: ReturnType<typeof setTimeout> | undefined;
	#attempt = 0;
	#stopped = true;
	/** Delivered `seq` per topic within `#epoch`: anything at or below it is a duplicate. */
	#delivered = new Map<string, number>();
	#epoch: string | null = null;
	/** The seq of `lastEventID` in `#epoch`; -1 before any (a stated position can be seq 0). */
	#highestSeq = -1;
	/** What the current EventSource resumes from on its own reconnects: its URL's position. */
	#sourcePosition = '';
	/**
	 * The stream stated a newer position than its EventSource holds: its own reconnect would lose
	 * it, so the client reopens. [spec] A frame with only an `id:` sets the last event ID buffer;
	 * the `eventsource` package ignores it.
	 */
	#sourceBehind = false;
	/** The URL and headers of the last stream opened, for asking the server why it failed. */
	#sourceUrl = '';
	#sourceHeaders: Record<string, string> | undefined;
	/** The id of the event before on the current stream (see the id-less check in `#open`). */
	#previousId = '';
	/** Events wait here while an asynchronous schema validates an earlier one, to keep order. */
	#queue: Promise<void> | null = null;
	/** The schema each topic's events are checked with (from `schemas`, and `definition` with `validate`). */
	readonly #schemas: ReadonlyMap<string, StandardSchemaLike>;

	constructor(url: string, options: SSEClientOptions<Topics> = {}) {
		this.#url = url;
		this.#options = options;
		this.#schemas = receiveSchemas(options);
		const initial = options.topics ?? options.definition?.names ?? {};
		const names = Array.isArray(initial) ? initial : Object.keys(initial);
		this.#checkDefined(names);
		this.#topics = [...new Set(names)] as (keyof Topics & string)[];
		if (!Array.isArray(initial)) {
			for (const [topic, handler] of Object.entries(initial)) {
				if (handler) this.#listen(topic, handler as AnyHandler);
			}
		}
		if (options.lastEventID) this.#startFrom(options.lastEventID);
		if (options.autoConnect === false) return;
		try {
			// Inside a component: connect on mount, close on destroy. `untrack` keeps the effect
			// from depending on the state `connect` reads and writes, so it runs once, not in a loop.
			$effect(() => {
				untrack(() => this.connect());
				return () => this.close();
			});
		} catch {
			// Outside a component (module scope, a context class, a test) there is no lifecycle
			// to follow: connect now, but only in a browser, never during SSR.
			if (typeof window !== 'undefined' && typeof document !== 'undefined') this.connect();
		}
	}

	/** As if every event of the initial topics up to `id` had been delivered (rendered by SSR). */
	#startFrom(id: string): void {
		const topics = untrack(() => this.#topics);
		this.#lastEventID = id;
		const match = EVENT_ID.exec(id);
		if (!match) return; // not a hub's id: sent as the position, nothing to compare with
		const seq = Number(match[2]);
		this.#enterEpoch(match[1] as string);
		this.#highestSeq = seq;
		for (const topic of topics) this.#delivered.set(topic, seq);
		this.#startPosition = { id, topics };
	}

	/** Connection state. */
	get status(): SSEStatus {
		return this.#status;
	}

	/** The last error, cleared by a successful connect. */
	get error(): SSEClientError | null {
		return this.#error;
	}

	/**
	 * The position the client resumes from: the id of the newest event delivered, or the position
	 * the server stated when its replay was over, whichever is newer.
	 */
	get lastEventID(): string | null {
		return this.#lastEventID;
	}

	/** Events delivered per topic since this client was created. */
	get topicCounters(): Readonly<Partial<Record<keyof Topics & string, number>>> {
		return this.#topicCounters;
	}

	/** The topics subscribed to. */
	get topics(): readonly (keyof Topics & string)[] {
		return this.#topics;
	}

	/** True from connecting until the server says its replay is over (`sse:ready`). */
	get replaying(): boolean {
		return this.#replaying;
	}

	/** Whether this client shares its stream with other tabs, and which holds it; `null` if not. */
	get sharing(): SSESharing | null {
		return this.#sharing;
	}

	/** Opens the connection (again), resuming from `lastEventID`. */
	connect(): void {
		this.#stopped = false;
		this.#attempt = 0;
		this.#suspended = false;
		if (typeof window !== 'undefined') {
			window.addEventListener('online', this.#onOnline);
			window.addEventListener('pagehide', this.#onPageHide);
			window.addEventListener('pageshow', this.#onPageShow);
			document.addEventListener('freeze', this.#onPageHide);
			document.addEventListener('resume', this.#onPageBack);
		}
		this.#start();
	}

	/** Closes the connection; nothing reconnects until `connect()` is called. */
	close(): void {
		this.#stopped = true;
		if (typeof window !== 'undefined') {
			window.removeEventListener('online', this.#onOnline);
			window.removeEventListener('pagehide', this.#onPageHide);
			window.removeEventListener('pageshow', this.#onPageShow);
			document.removeEventListener('freeze', this.#onPageHide);
			document.removeEventListener('resume', this.#onPageBack);
		}
		this.#disconnect();
		this.#status = 'idle';
		this.#replaying = false;
	}

	/**
	 * Changes the topics without losing the position: the connection is reopened with
	 * `lastEventID`, so topics kept resume where they were and added topics get their history.
	 */
	updateTopics(change: {
		addTopics?: readonly (keyof Topics & string)[];
		removeTopics?: readonly (keyof Topics & string)[];
		nextTopics?: readonly (keyof Topics & string)[];
	}): void {
		this.#checkDefined([
			...(change.addTopics ?? []),
			...(change.removeTopics ?? []),
			...(change.nextTopics ?? []),
		]);
		// Untracked: called from an $effect, this must not make the effect depend on the topics.
		const current = untrack(() => this.#topics);
		const next = new Set(change.nextTopics ?? current);
		for (const topic of change.addTopics ?? []) next.add(topic);
		for (const topic of change.removeTopics ?? []) next.delete(topic);
		if (next.size === current.length && current.every((topic) => next.has(topic))) return;
		this.#topics = [...next];
		if (this.#stopped || this.#suspended) return;
		const group = this.#group;
		if (!group) {
			this.#open();
			return;
		}
		// Shared: the new topics' history comes with the next stream, for this client only.
		const added = [...next].filter((topic) => !current.includes(topic));
		if (added.length > 0) {
			const needs = this.#needs ?? { since: null, history: [], first: [] };
			this.#needs = { ...needs, history: [...needs.history, ...added] };
			if (this.#held !== 'all') this.#held = new Set([...(this.#held ?? []), ...added]);
		}
		if (group.leading) this.#open('own topics');
		else group.post(this.#joinMessage(group));
	}

	/** Listens to a topic (subscribed or not yet); returns the function that stops listening. */
	on<K extends keyof Topics & string>(topic: K, handler: TopicHandler<Topics[K], K>): () => void {
		this.#checkDefined([topic]);
		return this.#listen(topic, handler as AnyHandler);
	}

	/** With a definition, a topic it does not define is a mistake: say so now, not as a 400 later. */
	#checkDefined(topics: readonly string[]): void {
		const defined = this.#options.definition?.names;
		if (!defined) return;
		const unknown = topics.filter((topic) => !(defined as readonly string[]).includes(topic));
		if (unknown.length === 0) return;
		throw new TypeError(
			`SSEClient: ${unknown.map((topic) => JSON.stringify(topic)).join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not in the topics definition (${defined.join(', ')}).`,
		);
	}

	#listen(topic: string, handler: AnyHandler): () => void {
		let set = this.#listeners.get(topic);
		if (!set) {
			set = new Set();
			this.#listeners.set(topic, set);
		}
		set.add(handler);
		return () => set.delete(handler);
	}

	#log(...args: unknown[]): void {
		if (this.#options.debug) console.debug('[SSEClient]', ...args);
	}

	#fail(error: SSEClientError): void {
		this.#error = error;
		this.#log(error.code, error.message);
		this.#options.onError?.(error);
	}

	#closeSource(): void {
		this.#source?.close();
		this.#source = null;
	}

	/** A stream of its own, or a place among the tabs that share one. */
	#start(): void {
		this.#disconnect();
		if (this.#options.share !== false && canShare()) this.#join();
		else this.#open();
	}

	/** Ends this client's part: its own stream, or its place in the tab group. */
	#disconnect(): void {
		clearTimeout(this.#retryTimer);
		this.#retryTimer = undefined;
		this.#closeSource();
		if (this.#group?.leading) {
			// The others show `connecting` until the next leader has opened the stream again.
			this.#status = 'connecting';
			this.#broadcastState();
		}
		this.#leaveGroup();
	}

	#leaveGroup(): void {
		this.#group?.leave();
		this.#group = null;
		this.#sharing = null;
		this.#leader = null;
		this.#needs = null;
		this.#held = null;
	}

	/** Joins the tabs of this endpoint; whichever holds the lock opens the stream for all. */
	#join(): void {
		const position = untrack(() => this.#lastEventID);
		const topics = untrack(() => this.#topics);
		// Back with a position (bfcache, reconnect, a snapshot): what came after it. Fresh: each
		// topic's first-connection history.
		this.#needs = { since: position, history: [], first: position ? [] : [...topics] };
		this.#held = 'all';
		this.#status = 'connecting';
		this.#replaying = true;
		const group: TabGroup = new TabGroup(
			groupName(this.#url, this.#options.withCredentials ?? false),
			{
				describe: (): Join => this.#joinMessage(group),
				lead: () => this.#lead(group),
				receive: (message) => this.#onTabMessage(group, message),
			},
		);
		this.#group = group;
		this.#sharing = { leader: false, tabs: 1 };
		group.start();
	}

	#joinMessage(group: TabGroup): Join {
		const needs = this.#needs;
		return {
			t: 'join',
			member: group.id,
			topics: [...untrack(() => this.#topics)],
			since: needs?.since ?? null,
			history: needs?.history ?? [],
			first: needs?.first ?? [],
		};
	}

	/** This client holds the lock: it opens the stream for every member, and asks who they are. */
	#lead(group: TabGroup): void {
		if (this.#group !== group) return;
		this.#log('leading the shared stream');
		this.#open();
		group.post({ t: 'who' });
	}

	/**
	 * What the next stream asks for: this client's topics from its position; as the leader,
	 * every member's topics, from the oldest position a member needs, with the history of the
	 * topics new to one of them. `served`: the members whose needs it meets.
	 */
	#streamRequest(): {
		topics: string[];
		position: string | null;
		history: string[];
		first: string[];
		had: string[];
		served: string[];
	} {
		const own = untrack(() => this.#topics);
		const position = untrack(() => this.#lastEventID);
		const group = this.#group;
		const had = (start: string | null, topics: readonly string[]) =>
			this.#startPosition && start === this.#startPosition.id
				? this.#startPosition.topics.filter((topic) => topics.includes(topic))
				: [];
		if (!group?.leading) {
			const topics = [...own];
			return { topics, position, history: [], first: [], had: had(position, topics), served: [] };
		}
		const history = new Set(this.#needs?.history ?? []);
		const first = new Set(this.#needs?.first ?? []);
		let start = position;
		const served = [group.id];
		for (const join of group.members.values()) {
			if (!needsReplay(join)) continue;
			served.push(join.member);
			for (const topic of join.history) history.add(topic);
			for (const topic of join.first) first.add(topic);
			if (join.since === null) continue;
			const older = olderPosition(start, join.since);
			if (older === undefined) for (const topic of join.topics) history.add(topic);
			else start = older;
		}
		const topics = group.union(own);
		// Only topics the stream asks for (a member may have dropped one it wanted the history of).
		const asked = [...history].filter((topic) => topics.includes(topic));
		const firsts = [...first].filter((topic) => topics.includes(topic) && !history.has(topic));
		return {
			topics,
			position: start,
			history: asked,
			first: firsts,
			had: had(start, topics),
			served,
		};
	}

	/**
	 * Opens the stream. `planned`: the leader reopens a shared stream because a member changed
	 * (`members`) or its own topics did (`own topics`), not because the connection failed.
	 */
	#open(planned?: 'members' | 'own topics'): void {
		const seamless =
			planned !== undefined &&
			this.#group?.leading === true &&
			untrack(() => this.#status) === 'connected';
		clearTimeout(this.#retryTimer);
		this.#retryTimer = undefined;
		this.#closeSource(); // never more than one connection
		const EventSourceImpl = this.#options.EventSource ?? globalThis.EventSource;
		if (!EventSourceImpl) {
			this.#status = 'error';
			this.#fail(
				new SSEClientError(
					'unsupported',
					'No EventSource here: pass one as the `EventSource` option (e.g. event-source-polyfill).',
				),
			);
			return;
		}
		const { topics, position, history, first, had, served } = this.#streamRequest();
		const params = new URLSearchParams();
		for (const topic of topics) params.append('topics', topic);
		for (const topic of history) params.append('history', topic);
		for (const topic of first) params.append('first', topic);
		for (const topic of had) params.append('had', topic);
		params.set('client', this.#group ? this.#streamClient : this.#clientId);
		// [spec] An EventSource sends Last-Event-ID only on its own reconnects, and a new one cannot
		// be given one: the position goes in the URL, where the server reads it instead.
		if (position) params.set('lastEventId', position);
		this.#sourcePosition = position ?? '';
		this.#sourceBehind = false;
		const url = `${this.#url}${this.#url.includes('?') ? '&' : '?'}${params}`;
		const extra = this.#options.eventSourceInit;
		const init = {
			...(typeof extra === 'function' ? extra() : extra),
			// [spec] withCredentials: the request's credentials mode is "include" (cookies cross-origin).
			withCredentials: this.#options.withCredentials ?? false,
		};

		this.#log('connecting', url);
		this.#sourceUrl = url;
		this.#sourceHeaders = headersOf(init);
		const source = new EventSourceImpl(url, init);
		this.#source = source;
		this.#streamTopics = topics;
		this.#seamless = seamless;
		this.#status = seamless ? 'connected' : 'connecting';
		this.#replaying = !seamless || planned === 'own topics';
		const group = this.#group;
		if (group) {
			// Before any event of this stream: the members it serves stop holding theirs back.
			for (const member of served) {
				const join = group.members.get(member);
				if (join) group.members.set(member, { ...join, since: null, history: [], first: [] });
			}
			group.post({ t: 'opened', served, start: position });
			this.#needs = null;
			this.#held = null;
			this.#broadcastState();
		}
		const current = (handler: (event: MessageEvent) => void) => (event: MessageEvent) => {
			if (this.#source === source) handler(event);
		};
		// [spec] `open` fires once the response is a 200 of `text/event-stream`, at every reconnect.
		source.addEventListener(
			'open',
			current(() => this.#onOpen()),
		);
		source.addEventListener(
			'error',
			current((event) => this.#onError(source, event)),
		);
		source.addEventListener(
			'sse:gap',
			current((event) => {
				this.#group?.post({ t: 'gap', data: event.data });
				this.#onGap(event.data);
			}),
		);
		source.addEventListener(
			'sse:ready',
			current((event) => {
				this.#group?.post({ t: 'ready', data: event.data });
				this.#onReady(event.data, event.lastEventId ?? '');
			}),
		);
		// [spec] The last event ID buffer carries over to an event that has no `id:` field, so an
		// event with the same id as the one before it on this stream had none: never a duplicate.
		this.#previousId = '';
		// [spec] An event is dispatched under the type its `event:` field names: one listener a topic.
		for (const topic of topics) {
			source.addEventListener(
				topic,
				current((event) => {
					const lastId = event.lastEventId ?? ''; // [spec] the last event ID buffer at dispatch
					if (lastId !== '') this.#sourceBehind = false; // it resumes from this id now
					const id = lastId === this.#previousId ? '' : lastId;
					this.#previousId = lastId;
					if (!EVENT_ID.test(id) && untrack(() => this.#replaying) && !this.#seamless) {
						// Not a hub's id: a plain SSE server, which sends no `sse:ready` to end it.
						this.#replaying = this.#held !== null;
						this.#broadcastState();
					}
					this.#group?.post({ t: 'event', topic, id, data: event.data });
					this.#onEvent(topic, id, event.data);
				}),
			);
		}
	}

	/** An event of the stream: delivered if this client wants its topic and is not holding it. */
	#onEvent(topic: string, id: string, data: string): void {
		const held = this.#held;
		if (held === 'all' || held?.has(topic)) return;
		if (this.#subscribed(topic)) this.#receive(topic, id, data);
		else this.#pass(id);
	}

	#subscribed(topic: string): boolean {
		return (untrack(() => this.#topics) as readonly string[]).includes(topic);
	}

	/** Another tab's event moves the shared position along. */
	#pass(id: string): void {
		const match = EVENT_ID.exec(id);
		if (!match) return;
		const epoch = match[1] as string;
		if (epoch !== this.#epoch) this.#enterEpoch(epoch);
		this.#advance(Number(match[2]), id);
	}

	/** The leader tells the others how the shared stream is doing. */
	#broadcastState(): void {
		const group = this.#group;
		if (!group?.leading) return;
		const error = untrack(() => this.#error);
		const tabs = group.members.size + 1;
		group.post({
			t: 'state',
			leader: group.id,
			status: untrack(() => this.#status),
			// A reopen for one member's sake is no replay for the others (those it serves know).
			replaying: !this.#seamless && untrack(() => this.#replaying),
			error: error && { code: error.code, message: error.message, status: error.status },
			client: this.#streamClient,
			tabs,
		});
		this.#sharing = { leader: true, tabs };
	}

	#onTabMessage(group: TabGroup, message: TabMessage): void {
		if (this.#group !== group) return;
		switch (message.t) {
			case 'join':
			case 'leave':
				if (group.leading) this.#reconsider(group);
				else if (message.t === 'leave' && message.member === this.#leader) {
					this.#status = 'connecting'; // until the next leader has opened the stream
				}
				return;
			case 'opened':
				if (message.served.includes(group.id)) this.#served(message.start);
				return;
			case 'event':
				this.#onEvent(message.topic, message.id, message.data);
				return;
			case 'gap':
				this.#onGap(message.data);
				return;
			case 'ready':
				this.#onReady(message.data);
				return;
			case 'state':
				if (!group.leading) this.#mirror(message);
				return;
		}
	}

	/** As the leader: a member came, left or changed its topics. Reopen if the stream must change. */
	#reconsider(group: TabGroup): void {
		const wanted = group.union(untrack(() => this.#topics));
		const current = new Set(this.#streamTopics);
		const needy = [...group.members.values()].some(needsReplay);
		const same = wanted.length === current.size && wanted.every((topic) => current.has(topic));
		if (this.#source && (needy || !same)) this.#open('members');
		else this.#broadcastState();
	}

	/** The stream that replays what this client needs is open: its events count from now on. */
	#served(start: string | null): void {
		const since = this.#needs?.since;
		this.#needs = null;
		this.#held = null;
		this.#awaitingReady = true;
		this.#replaying = true;
		const from = since ? EVENT_ID.exec(since) : null;
		const to = start ? EVENT_ID.exec(start) : null;
		if (from && to && from[1] !== to[1]) {
			// The stream is of another epoch than this client's position (the store restarted
			// while this page was away): what it had does not compare with what comes.
			this.#enterEpoch(null);
			this.#options.onGap?.({ reason: 'epoch', topics: [...untrack(() => this.#topics)] });
		}
	}

	/** A follower shows the shared stream's state as the leader tells it. */
	#mirror(state: Extract<TabMessage, { t: 'state' }>): void {
		this.#leader = state.leader;
		this.#streamClient = state.client;
		this.#status = state.status;
		this.#replaying = state.replaying || this.#held !== null || this.#awaitingReady;
		this.#sharing = { leader: false, tabs: state.tabs };
		if (state.error === null) this.#error = null;
		else if (state.error.message !== untrack(() => this.#error)?.message) {
			const { code, message, status } = state.error;
			this.#fail(new SSEClientError(code, message, { status }));
		}
	}

	/** Off the page (bfcache or frozen): a held lock or open stream would keep it from being cached. */
	#onPageHide = () => {
		if (this.#stopped || this.#suspended) return;
		this.#suspended = true;
		this.#disconnect();
	};

	#onPageShow = (event: PageTransitionEvent) => {
		if (event.persisted) this.#onPageBack();
	};

	/** Back on the page: resume from `lastEventID`, alone or with the other tabs. */
	#onPageBack = () => {
		if (this.#stopped || !this.#suspended) return;
		this.#suspended = false;
		this.#attempt = 0;
		this.#start();
	};

	/** Back online: retry now instead of waiting out the backoff. */
	#onOnline = () => {
		if (this.#stopped || this.#suspended || this.#source) return;
		if (this.#group && !this.#group.leading) return; // the leader's to retry
		this.#attempt = 0;
		this.#open();
	};

	#onOpen(): void {
		this.#log('open');
		// A new stream (the browser's own reconnect included): its first event has nothing before it.
		this.#previousId = '';
		this.#status = 'connected';
		this.#error = null;
		this.#attempt = 0;
		if (this.#options.replay === false) this.#replaying = this.#held !== null;
		this.#broadcastState();
	}

	#onError(source: EventSourceLike, event: Event): void {
		this.#seamless = false; // a failure shows in every tab
		if (source.readyState !== CLOSED) {
			// [spec] Reestablishing: readyState CONNECTING, `error`, and after the reconnection time
			// (the server's `retry:`) a new request with Last-Event-ID: the server replays again.
			this.#status = 'connecting';
			this.#replaying = true;
			this.#broadcastState();
			// Unless it would go without the position the stream stated, or with the credentials it
			// was made with (an `eventSourceInit` function gives fresh ones): reopen instead.
			if (!this.#sourceBehind && typeof this.#options.eventSourceInit !== 'function') return;
			this.#closeSource();
			this.#retryTimer = setTimeout(() => this.#open(), this.#backoff());
			return;
		}
		// [spec] Failing the connection (a status other than 200, a type other than
		// `text/event-stream`): readyState CLOSED, `error`, no retry. Reconnect ourselves.
		this.#closeSource();
		this.#status = 'error';
		this.#replaying = false;
		const details = event as Event & { status?: number; code?: number; message?: string };
		const reported = details.status ?? details.code;
		// A browser's EventSource reports no status, and none reports a Retry-After: ask the
		// server with a HEAD, which the hub answers as the GET without opening a stream.
		const ask =
			typeof fetch === 'function' &&
			(reported === 429 ||
				reported === 503 ||
				(reported === undefined && !this.#options.EventSource));
		if (!ask) {
			this.#afterFailure(reported, 0);
			return;
		}
		const url = this.#sourceUrl;
		void this.#probe(url).then(({ status, retryAfterMs }) => {
			// Unless something else happened meanwhile (closed, reopened, a retry set).
			if (this.#stopped || this.#source || this.#retryTimer || this.#sourceUrl !== url) return;
			this.#afterFailure(status ?? reported, retryAfterMs);
		});
	}

	/** What the server says of a request it would not stream: its status and Retry-After. */
	async #probe(url: string): Promise<{ status?: number; retryAfterMs: number }> {
		try {
			const response = await fetch(url, {
				method: 'HEAD',
				cache: 'no-store',
				credentials: this.#options.withCredentials ? 'include' : 'same-origin',
				headers: this.#sourceHeaders,
			});
			return { status: response.status, retryAfterMs: retryAfterMs(response.headers) };
		} catch {
			return { retryAfterMs: 0 }; // unreachable: the usual backoff
		}
	}

	/** A failed connection: stop on a refusal that retrying cannot fix, else retry later. */
	#afterFailure(status: number | undefined, retryAfter: number): void {
		if (status === 400) {
			this.#stopped = true;
			this.#fail(
				new SSEClientError(
					'bad_request',
					'The server refused the request (HTTP 400: an unknown or malformed topic, too many topics?): fix it, then call connect().',
					{ status },
				),
			);
			this.#broadcastState();
			this.#leaveGroup();
			return;
		}
		if (status === 401 || status === 403) {
			this.#stopped = true;
			this.#fail(
				new SSEClientError(
					'unauthorized',
					`The server refused the stream (HTTP ${status}); call connect() once signed in.`,
					{
						status,
					},
				),
			);
			this.#broadcastState();
			// A stopped leader gives the lock up: each tab then tries once (and stops) on its own.
			this.#leaveGroup();
			return;
		}
		const wait = Math.max(this.#backoff(), retryAfter);
		this.#fail(
			new SSEClientError(
				'connection',
				`The event stream failed${status ? ` (HTTP ${status})` : ''}; retrying in ${Math.round(wait)} ms.`,
				{ status },
			),
		);
		this.#broadcastState();
		this.#retryTimer = setTimeout(() => this.#open(), wait);
	}

	/** The next wait before reconnecting: doubling steps with full jitter, so clients spread out. */
	#backoff(): number {
		const ceiling = Math.min(
			this.#options.maxReconnectWait ?? 30_000,
			(this.#options.reconnectWait ?? 3000) * 2 ** this.#attempt,
		);
		this.#attempt++;
		return Math.random() * ceiling;
	}

	#onGap(data: string): void {
		let gap: SSEGap;
		try {
			gap = JSON.parse(data) as SSEGap;
		} catch (cause) {
			this.#fail(new SSEClientError('parse', 'An sse:gap event carried bad JSON.', { cause }));
			return;
		}
		const held = this.#held;
		if (held === 'all') return; // a gap of a stream before the one that serves this client
		// A shared stream's gap names every member's topics: this client hears of its own.
		const topics = gap.topics.filter((topic) => this.#subscribed(topic) && !held?.has(topic));
		const reset = RESET_GAPS.has(gap.reason);
		if (topics.length === 0 && !reset) return;
		this.#log('gap', gap);
		if (reset) this.#enterEpoch(null);
		this.#options.onGap?.({ ...gap, topics });
	}

	/** Replay is over; the server states the position the stream has reached, events or not. */
	/** `sourceId`: the ready event's own last event id, on this client's own stream. */
	#onReady(data: string, sourceId?: string): void {
		this.#seamless = false;
		this.#awaitingReady = false;
		this.#replaying = this.#held !== null;
		this.#broadcastState();
		let ready: { lastEventId?: unknown };
		try {
			ready = JSON.parse(data) as { lastEventId?: unknown };
		} catch (cause) {
			this.#fail(new SSEClientError('parse', 'An sse:ready event carried bad JSON.', { cause }));
			return;
		}
		const match = typeof ready?.lastEventId === 'string' && EVENT_ID.exec(ready.lastEventId);
		if (!match) return;
		const stated = ready.lastEventId as string;
		const epoch = match[1] as string;
		if (epoch !== this.#epoch) this.#enterEpoch(epoch);
		this.#advance(Number(match[2]), stated);
		// [spec] A browser's ready event carries the stated id (set by the id-only frame before it);
		// an EventSource that ignored that frame does not.
		if (sourceId !== undefined && stated !== (sourceId || this.#sourcePosition)) {
			this.#sourceBehind = true;
		}
	}

	/** Ids of another epoch (or after a rewind) do not compare with those delivered so far. */
	#enterEpoch(epoch: string | null): void {
		this.#epoch = epoch;
		this.#startPosition = null;
		this.#delivered.clear();
		this.#highestSeq = -1;
	}

	/** The position only moves forward: a new topic's history may carry older ids. */
	#advance(seq: number, id: string): void {
		if (seq <= this.#highestSeq) return;
		this.#highestSeq = seq;
		this.#lastEventID = id;
	}

	#receive(topic: string, id: string, text: string): void {
		if (this.#isDuplicate(topic, id)) {
			this.#log('duplicate dropped', topic, id);
			return;
		}
		let data: unknown;
		try {
			data = JSON.parse(text);
		} catch (cause) {
			this.#fail(
				new SSEClientError('parse', `Event ${id} of "${topic}" is not JSON.`, { topic, cause }),
			);
			return;
		}
		const schema = this.#schemas.get(topic);
		let checked: SchemaResult | Promise<SchemaResult>;
		try {
			checked = schema ? schema['~standard'].validate(data) : { value: data };
		} catch (cause) {
			this.#fail(this.#schemaThrew(topic, id, cause));
			return;
		}
		if (!(checked instanceof Promise) && !this.#queue) {
			this.#deliver(topic, id, checked);
			return;
		}
		// An asynchronous schema: this event and those after it wait their turn, in order. A check
		// that throws rejects (zod does so): handle that at once, so it neither goes unhandled nor
		// breaks the chain and loses every later event.
		const settled = Promise.resolve(checked).then(
			(result) => () => this.#deliver(topic, id, result),
			(cause) => () => this.#fail(this.#schemaThrew(topic, id, cause)),
		);
		const queue = (this.#queue ?? Promise.resolve()).then(async () => (await settled)());
		this.#queue = queue;
		void queue.finally(() => {
			if (this.#queue === queue) this.#queue = null;
		});
	}

	#schemaThrew(topic: string, id: string, cause: unknown): SSEClientError {
		return new SSEClientError('schema', `The schema of "${topic}" threw on event ${id}.`, {
			topic,
			cause,
		});
	}

	#deliver(topic: string, id: string, checked: SchemaResult): void {
		if (checked.issues) {
			const summary = checked.issues.map((issue) => issue.message).join('; ');
			this.#fail(
				new SSEClientError('schema', `Event ${id} of "${topic}" fails its schema: ${summary}`, {
					topic,
				}),
			);
			return;
		}
		this.#dispatch(topic, id, checked.value);
	}

	/** Drops an event already delivered for `topic`; ids from another epoch start afresh. */
	#isDuplicate(topic: string, id: string): boolean {
		const match = EVENT_ID.exec(id);
		if (!match) return false;
		const epoch = match[1] as string;
		const seq = Number(match[2]);
		if (epoch !== this.#epoch) this.#enterEpoch(epoch);
		if (seq <= (this.#delivered.get(topic) ?? 0)) return true;
		this.#delivered.set(topic, seq);
		this.#advance(seq, id);
		return false;
	}

	#dispatch(topic: string, id: string, data: unknown): void {
		const counters = this.#topicCounters as Record<string, number>;
		counters[topic] = (untrack(() => counters[topic]) ?? 0) + 1;
		if (!EVENT_ID.test(id) && id) this.#lastEventID = id;
		for (const handler of this.#listeners.get(topic) ?? []) {
			try {
				handler(data, { topic, id });
			} catch (cause) {
				this.#fail(
					new SSEClientError('handler', `The handler of "${topic}" threw on event ${id}.`, {
						topic,
						cause,
					}),
				);
			}
		}
	}
}

const CONTEXT_KEY = Symbol.for('svelte-sse-kit.client');

/**
 * Shares one client with every component below this one: call it in `+layout.svelte` so the
 * whole app uses one connection. Returns the client.
 */
export function setSSEContext<Topics extends TopicMapOf<Topics>>(
	client: SSEClient<Topics>,
): SSEClient<Topics> {
	return setContext(CONTEXT_KEY, client);
}

/**
 * The client set by `setSSEContext` in a parent component, typed by the topics definition
 * (`getSSEContext(topics)`) or the generic (`getSSEContext<Topics>()`). The definition only types
 * it: pass the one the client was made with.
 */
export function getSSEContext<Topics extends TopicMapOf<Topics> = TopicMap>(
	_definition?: TopicsDefinition<Topics>,
): SSEClient<Topics> {
	if (!hasContext(CONTEXT_KEY)) {
		throw new Error(
			'No SSEClient in context: call setSSEContext(new SSEClient(...)) in a parent component, such as +layout.svelte, before getSSEContext().',
		);
	}
	return getContext<SSEClient<Topics>>(CONTEXT_KEY);
}
