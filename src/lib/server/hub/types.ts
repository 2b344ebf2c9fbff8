// The hub's public types: the options of `createSSEHub`, its limits and stream options, and the
// `SSEHub` it returns.
import type { StandardSchemaV1 } from '@standard-schema/spec';
import type { Handle, RequestEvent, RequestHandler } from '@sveltejs/kit';
import type { TopicsDefinition } from '../../client/sse-client.svelte.js';
import type { SSEHubErrorCode } from '../errors.js';
import type { HistoryStore, SeedHistoryStore } from '../history/index.js';
import type { InitialHistory, NewTopicHistory, SSEGapReason } from '../replay/index.js';
import type { TopicMapOf } from '../transport/index.js';
import type { SessionCookieOptions } from './request.js';
import type { Snapshot, SnapshotOptions } from './snapshot.js';

/**
 * The parts of `@opentelemetry/api` the hub uses, for `options.telemetry`: pass the module
 * (`import * as otel from '@opentelemetry/api'`) where a bundler must see the import.
 */
export interface TelemetryApi {
	trace: { getTracer(name: string): unknown };
	metrics: { getMeter(name: string): unknown };
}

/** `true`: use `@opentelemetry/api` if it can be imported; `false`: record nothing. */
export type TelemetryOption = boolean | TelemetryApi;

/** What `authorize` may answer: allow all, refuse (403), or allow only some topics. */
export type AuthorizeResult = boolean | { allowedTopics: readonly string[] };

export interface HubLimits {
	/** Topics one connection may ask for. @default 32 */
	maxTopics?: number;
	/** Open streams per session (tabs, devices); the next gets 429. @default 32 */
	maxConnectionsPerSession?: number;
	/** The `Retry-After` of a 429, in seconds. @default 5 */
	retryAfterSeconds?: number;
	/** Unread bytes per client before it is dropped as a slow consumer. @default 4 MiB */
	maxBufferedBytes?: number;
	/** @deprecated Set `stream.keepAliveMs`; this one is read when that is not set. */
	keepAliveMs?: number;
	/** @deprecated Set `stream.retryMs`; this one is read when that is not set. */
	retryMs?: number;
	/** @deprecated Set `stream.replayPageSize`; this one is read when that is not set. */
	replayPageSize?: number;
}

/** How the hub's streams behave (timings and pacing, not limits). */
export interface HubStreamOptions {
	/** Keep-alive comment interval; 0 turns them off. @default 15000 */
	keepAliveMs?: number;
	/** The `retry:` hint for the browser's own reconnects. @default 3000 */
	retryMs?: number;
	/**
	 * Each stream's hint is `retryMs` plus a random part up to this, so that the browsers a
	 * deploy cuts off (every stream ends on SIGTERM) come back spread out, not in the same
	 * second. 0 sends `retryMs` to all. @default retryMs
	 */
	retryJitterMs?: number;
	/** Events read from history per page of a replay. @default 256 */
	replayPageSize?: number;
}

export interface SSEHubOptions<Topics extends TopicMapOf<Topics>> {
	/**
	 * Every topic this hub serves (requests and publishes for others are refused): a definition
	 * from `defineTopics` (the hub takes its names, schemas and types from it), or the names.
	 */
	topics: readonly (keyof Topics & string)[] | TopicsDefinition<Topics>;
	/** Where history lives. @default memoryHistory() */
	history?: HistoryStore | SeedHistoryStore;
	/**
	 * Who the client is: return a stable id (e.g. `event.locals.user.id`), or `null` to refuse
	 * with 401. By default a random id in an httpOnly cookie (see `cookie`).
	 */
	session?: (event: RequestEvent) => string | null | undefined | Promise<string | null | undefined>;
	/** Name and lifetime of the default session cookie (`__Host-` prefixed on https). */
	cookie?: SessionCookieOptions;
	/** May this session stream these topics? `false` is 403; `{ allowedTopics }` narrows them. */
	authorize?: (input: {
		event: RequestEvent;
		session: string;
		topics: readonly (keyof Topics & string)[];
	}) => AuthorizeResult | Promise<AuthorizeResult>;
	/**
	 * A Standard Schema (zod, valibot, arktype…) per topic; `publish` refuses data that fails it.
	 * With a definition, for topics it defines with `null` (a server-only check): a topic given a
	 * schema in both is an `SSEConfigError`.
	 */
	schemas?: { [K in keyof Topics]?: StandardSchemaV1<unknown, Topics[K]> };
	/**
	 * What a topic added to a client that has a position gets on connect (topic safety: it must
	 * not miss what that topic holds). @default 'all'
	 */
	newTopicHistory?: NewTopicHistory;
	/**
	 * What a brand-new client (no position) gets of each topic on its first connection: `'all'`,
	 * `'none'`, the last N, or one of these per topic (`{ chat: 50 }`; a topic not named gets the
	 * default). Show state with `hub.snapshot` in a `load` rather than a large history here.
	 * @default 10
	 */
	initialHistory?: InitialHistory;
	limits?: HubLimits;
	stream?: HubStreamOptions;
	/**
	 * End every stream on SIGTERM/SIGINT, so servers that drain connections exit at once; then, on
	 * adapter-node's `sveltekit:shutdown` (its server has closed), close the hub and its history
	 * store (given or not; a Redis `client` you passed stays open), so nothing holds the process.
	 * @default true
	 */
	closeOnSignals?: boolean;
	/** Called when a client is dropped for leaving `limits.maxBufferedBytes` unread (for metrics). */
	onSlowConsumer?: (info: { session: string; bufferedBytes: number; limit: number }) => void;
	/** Errors that happen inside a stream, after its response was sent. @default console.error */
	onError?: (error: unknown) => void;
	/**
	 * OpenTelemetry: a span per stream request and metrics of `stats()`, through the app's
	 * `@opentelemetry/api` (an optional peer dependency; with none installed the hub records
	 * nothing). `true` imports it at run time; pass the module itself
	 * (`import * as otel from '@opentelemetry/api'`) where a bundler must see the import; `false`
	 * turns it off. Without an SDK registered (`instrumentation.server.ts`), the API does nothing.
	 * @default true
	 */
	telemetry?: TelemetryOption;
}

export interface PublishOptions {
	/** Deliver to (and keep in the history of) this session only. */
	session?: string;
	/**
	 * Names the event for a producer that retries (a webhook delivered twice, a call that timed
	 * out but went through): publishing again with the same key within the history's `maxAgeMs`
	 * stores and delivers nothing and resolves to the first event's id. A non-empty string of at
	 * most 200 characters, such as the webhook's delivery id.
	 */
	idempotencyKey?: string;
}

export interface HubStats {
	/** Open streams in this process. */
	connections: number;
	/** Sessions the history knows. */
	sessions: number;
	/** Events retained in history. */
	events: number;
	epoch: string;
	/** Highest `seq` assigned. */
	head: number;
	// The counters below count since the hub was created, in this process.
	/** When the hub was created (ms since 1970), the start of its counters. */
	startedAt: number;
	/** Events this process stored by `publish` (an idempotent repeat is not counted). */
	published: number;
	/** Events written to streams, live and from history, once per stream. */
	delivered: number;
	/** Of `delivered`, those written from history: replays at a stream's start, catch-ups. */
	replayed: number;
	/** `sse:gap` notices sent, by reason. */
	gaps: Record<SSEGapReason, number>;
	/** Streams dropped because their client left more than `limits.maxBufferedBytes` unread. */
	slowConsumers: number;
	/** Stream requests refused, by code (only the codes that happened). */
	refused: Partial<Record<SSEHubErrorCode, number>>;
	/** `publish` calls refused, by code (only the codes that happened). */
	publishRefused: Partial<Record<SSEHubErrorCode, number>>;
	streamsOpened: number;
	streamsClosed: number;
}

export interface SSEHub<Topics extends TopicMapOf<Topics>> {
	/** The SvelteKit `GET` handler: `export const GET = hub.handler();` */
	handler(): RequestHandler;
	/**
	 * A SvelteKit `Handle` for `src/hooks.server.ts` (`export const handle = hub.handle`, or in
	 * `sequence(...)`): a visitor without the session cookie gets it on the page request, before
	 * any stream opens, so that streams opened at once share one session; the id is put on
	 * `event.locals.sseSession` for actions and endpoints. With `options.session` it mints nothing.
	 * Either way the rest of the request runs with it as the current request, so that
	 * `hub.sessionOf()` needs no event.
	 */
	handle: Handle;
	/** Validates, stores and delivers one event; resolves to its id. */
	publish<K extends keyof Topics & string>(
		topic: K,
		data: Topics[K],
		options?: PublishOptions,
	): Promise<string>;
	/**
	 * A `load` function's view of the topics: their recent events (and the session's own, with
	 * `session`) and the position they end at. Start the client there (`lastEventID`) and its
	 * stream replays exactly what came after: nothing shown twice, nothing lost in between.
	 * Refuses (`SSEHubError`) an unknown topic or a bad `last`.
	 *
	 * ```ts
	 * const { events, lastEventId } = await hub.snapshot(['chat'], { session, last: 50 });
	 * ```
	 */
	snapshot<K extends keyof Topics & string>(
		topics: readonly K[],
		options?: SnapshotOptions,
	): Promise<Snapshot<Topics, K>>;
	/**
	 * The session a request belongs to, resolved as the stream handler does (the default cookie
	 * is created and set if missing); `null` when `options.session` returns none. Use it in
	 * actions and endpoints to publish to the caller's session. Without `event` it reads the
	 * request `hub.handle` is answering (so `hub.handle` must be in `src/hooks.server.ts`), and
	 * throws `SSEHubError` `no_request` outside one.
	 */
	sessionOf(event?: RequestEvent): Promise<string | null>;
	/** Cuts the open streams of one session (clients reconnect and resume); returns how many. */
	disconnect(session: string): number;
	stats(): Promise<HubStats>;
	/** Ends every stream cleanly and refuses new ones. */
	close(): Promise<void>;
}
