// SSEClient — one Server-Sent Events connection for many typed topics, as Svelte 5 runes.
//
// This file imports only from `svelte`: copy it into any Svelte 5 project as it is.
//
// ```svelte
// <script lang="ts">
//   import { SSEClient } from 'svelte-sse-kit';
//   type Topics = { chat: { text: string }; logs: string };
//   const stream = new SSEClient<Topics>('/api/events', {
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
import { untrack } from 'svelte';

/** Topic name → the type of its data. */
export type TopicMap = Record<string, unknown>;

/** `idle` (not connected, by choice) → `connecting` → `connected`; `error` while it waits to retry. */
export type SSEStatus = 'idle' | 'connecting' | 'connected' | 'error';

/** What went wrong, for code that branches on it. */
export type SSEClientErrorCode =
	/** The connection failed; the client retries with backoff. */
	| 'connection'
	/** The server answered 401 or 403: the client stops until `connect()` is called again. */
	| 'unauthorized'
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
	| { issues: ReadonlyArray<{ message: string }> };

/** A Standard Schema (zod, valibot, arktype…): only its `~standard.validate` is used. */
export interface StandardSchemaLike<Output = unknown> {
	readonly '~standard': {
		validate(value: unknown): SchemaResult<Output> | Promise<SchemaResult<Output>>;
	};
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

export interface SSEClientOptions<Topics extends TopicMap> {
	/**
	 * The topics subscribed to at first: a handler per topic, or just their names (listen later
	 * with `on`, as components that share one client through the context do).
	 */
	topics?:
		| { [K in keyof Topics & string]?: TopicHandler<Topics[K], K> }
		| readonly (keyof Topics & string)[];
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
	/** A Standard Schema per topic; data that fails it goes to `onError`, not to the handler. */
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

/** A Svelte 5 runes client for one multi-topic SSE endpoint. */
export class SSEClient<Topics extends TopicMap = TopicMap> {
	#status = $state<SSEStatus>('idle');
	#error = $state<SSEClientError | null>(null);
	#lastEventID = $state<string | null>(null);
	#topicCounters = $state<Partial<Record<keyof Topics & string, number>>>({});
	#topics = $state<(keyof Topics & string)[]>([]);
	#replaying = $state(false);

	readonly #url: string;
	readonly #clientId = newClientId();
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
	/** The id of the event before on the current stream (see the id-less check in `#open`). */
	#previousId = '';
	/** Events wait here while an asynchronous schema validates an earlier one, to keep order. */
	#queue: Promise<void> | null = null;

	constructor(url: string, options: SSEClientOptions<Topics> = {}) {
		this.#url = url;
		this.#options = options;
		const initial = options.topics ?? {};
		if (Array.isArray(initial)) {
			this.#topics = [...new Set(initial)] as (keyof Topics & string)[];
		} else {
			this.#topics = Object.keys(initial) as (keyof Topics & string)[];
			for (const [topic, handler] of Object.entries(initial)) {
				if (handler) this.#listen(topic, handler as AnyHandler);
			}
		}
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

	/** Opens the connection (again), resuming from `lastEventID`. */
	connect(): void {
		this.#stopped = false;
		this.#attempt = 0;
		if (typeof window !== 'undefined') window.addEventListener('online', this.#onOnline);
		this.#open();
	}

	/** Closes the connection; nothing reconnects until `connect()` is called. */
	close(): void {
		this.#stopped = true;
		clearTimeout(this.#retryTimer);
		this.#retryTimer = undefined;
		if (typeof window !== 'undefined') window.removeEventListener('online', this.#onOnline);
		this.#closeSource();
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
		// Untracked: called from an $effect, this must not make the effect depend on the topics.
		const current = untrack(() => this.#topics);
		const next = new Set(change.nextTopics ?? current);
		for (const topic of change.addTopics ?? []) next.add(topic);
		for (const topic of change.removeTopics ?? []) next.delete(topic);
		if (next.size === current.length && current.every((topic) => next.has(topic))) return;
		this.#topics = [...next];
		if (!this.#stopped) this.#open();
	}

	/** Listens to a topic (subscribed or not yet); returns the function that stops listening. */
	on<K extends keyof Topics & string>(topic: K, handler: TopicHandler<Topics[K], K>): () => void {
		return this.#listen(topic, handler as AnyHandler);
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

	#open(): void {
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
		const topics = untrack(() => this.#topics);
		const params = new URLSearchParams();
		for (const topic of topics) params.append('topics', topic);
		params.set('client', this.#clientId);
		const position = untrack(() => this.#lastEventID);
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
		const source = new EventSourceImpl(url, init);
		this.#source = source;
		this.#status = 'connecting';
		this.#replaying = true;
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
			current((event) => this.#onGap(event)),
		);
		source.addEventListener(
			'sse:ready',
			current((event) => this.#onReady(event)),
		);
		// [spec] The last event ID buffer carries over to an event that has no `id:` field, so an
		// event with the same id as the one before it on this stream had none: never a duplicate.
		this.#previousId = '';
		// [spec] An event is dispatched under the type its `event:` field names: one listener a topic.
		for (const topic of topics) {
			source.addEventListener(
				topic,
				current((event) => {
					const id = event.lastEventId ?? ''; // [spec] the last event ID buffer at dispatch
					if (id !== '') this.#sourceBehind = false; // it resumes from this id now
					this.#receive(topic, event, id !== '' && id === this.#previousId);
					this.#previousId = id;
				}),
			);
		}
	}

	/** Back online: retry now instead of waiting out the backoff. */
	#onOnline = () => {
		if (this.#stopped || this.#source) return;
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
	}

	#onError(source: EventSourceLike, event: Event): void {
		if (source.readyState !== CLOSED) {
			// [spec] Reestablishing: readyState CONNECTING, `error`, and after the reconnection time
			// (the server's `retry:`) a new request with Last-Event-ID: the server replays again.
			this.#status = 'connecting';
			this.#replaying = true;
			if (!this.#sourceBehind) return;
			// Unless it would go without the position the stream stated: reopen with it instead.
			this.#closeSource();
			this.#retryTimer = setTimeout(() => this.#open(), this.#backoff());
			return;
		}
		// [spec] Failing the connection (a status other than 200, a type other than
		// `text/event-stream`): readyState CLOSED, `error`, no retry. Reconnect ourselves.
		this.#closeSource();
		this.#status = 'error';
		const details = event as Event & { status?: number; code?: number; message?: string };
		const status = details.status ?? details.code;
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
			return;
		}
		const wait = this.#backoff();
		this.#fail(
			new SSEClientError(
				'connection',
				`The event stream failed${status ? ` (HTTP ${status})` : ''}; retrying in ${Math.round(wait)} ms.`,
				{ status },
			),
		);
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

	#onGap(event: MessageEvent): void {
		try {
			const gap = JSON.parse(event.data) as SSEGap;
			this.#log('gap', gap);
			if (RESET_GAPS.has(gap.reason)) this.#enterEpoch(null);
			this.#options.onGap?.(gap);
		} catch (cause) {
			this.#fail(new SSEClientError('parse', 'An sse:gap event carried bad JSON.', { cause }));
		}
	}

	/** Replay is over; the server states the position the stream has reached, events or not. */
	#onReady(event: MessageEvent): void {
		this.#replaying = false;
		let ready: { lastEventId?: unknown };
		try {
			ready = JSON.parse(event.data) as { lastEventId?: unknown };
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
		if (stated !== (event.lastEventId || this.#sourcePosition)) this.#sourceBehind = true;
	}

	/** Ids of another epoch (or after a rewind) do not compare with those delivered so far. */
	#enterEpoch(epoch: string | null): void {
		this.#epoch = epoch;
		this.#delivered.clear();
		this.#highestSeq = -1;
	}

	/** The position only moves forward: a new topic's history may carry older ids. */
	#advance(seq: number, id: string): void {
		if (seq <= this.#highestSeq) return;
		this.#highestSeq = seq;
		this.#lastEventID = id;
	}

	#receive(topic: string, event: MessageEvent, idless: boolean): void {
		const id = idless ? '' : (event.lastEventId ?? '');
		if (this.#isDuplicate(topic, id)) {
			this.#log('duplicate dropped', topic, id);
			return;
		}
		let data: unknown;
		try {
			data = JSON.parse(event.data);
		} catch (cause) {
			this.#fail(
				new SSEClientError('parse', `Event ${id} of "${topic}" is not JSON.`, { topic, cause }),
			);
			return;
		}
		const schema = this.#options.schemas?.[topic];
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
