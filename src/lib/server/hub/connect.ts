// From a request to an open HubStream: the request read, its session and topics allowed, the
// per-session connection limit, the replay planned, the cursor record written, the stream opened
// (its replay, then live events), and, once it ends, taken out of the OpenStreams.
import type { RequestEvent } from '@sveltejs/kit';
import { SSEHubError } from '../errors.js';
import { type HistoryStore, syncReadsOf } from '../history/index.js';
import { planReplay, type ReplayPlan, type ReplayWriter } from '../replay/index.js';
import type { CloseReason, SSEConnection } from '../transport/index.js';
import { produceSSE, responseHeaders, type TopicMapOf } from '../transport/index.js';
import { authorizeTopics, resolveSession } from './access.js';
import { HubCounters } from './counters.js';
import type { SharedFeed } from './feed.js';
import type { OpenStreams } from './open-streams.js';
import { randomId } from './random-id.js';
import {
	clientOf,
	parseTopics,
	type RequestSession,
	resumePosition,
	streamListsOf,
} from './request.js';
import { type HubSettings, retryHint } from './settings.js';
import { cursorRecordOf, HubStream, type Registration } from './stream.js';
import type { HubTelemetry, StreamSpan } from './telemetry.js';
import type { SSEHubOptions } from './types.js';

/** What opening a stream uses of the hub. */
export interface ConnectParts<Topics extends TopicMapOf<Topics>> {
	options: SSEHubOptions<Topics>;
	settings: HubSettings;
	store: HistoryStore;
	streams: OpenStreams;
	feed: SharedFeed;
	replay: ReplayWriter;
	counters: HubCounters;
	telemetry: HubTelemetry;
	/** Whether `hub.close()` has begun: from then on no stream may open. */
	isClosed(): boolean;
}

const shuttingDown = () =>
	new SSEHubError('hub_closed', 503, 'This event hub is shutting down; retry shortly.');

/**
 * The hub's `GET` handler: an open stream, or the protocol's JSON refusal. A stream request (not
 * a HEAD, which only asks whether one would be accepted) has a span and its refusal is counted.
 */
export async function handleStreamRequest<Topics extends TopicMapOf<Topics>>(
	parts: ConnectParts<Topics>,
	event: RequestEvent,
): Promise<Response> {
	const { telemetry } = parts;
	if (telemetry.loading) await telemetry.ready;
	const probe = event.request.method === 'HEAD';
	const span = probe ? undefined : telemetry.streamSpan();
	const minted: MintedSession = {};
	try {
		return await connect(parts, event, span, minted);
	} catch (error) {
		if (!(error instanceof SSEHubError)) {
			span?.failed(error);
			throw error;
		}
		if (!probe) HubCounters.count(parts.counters.refused, error.code);
		span?.refused(error);
		if (error.code === 'history_unavailable') parts.settings.onError(error.cause ?? error);
		const headers: Record<string, string> = {};
		if (error.status === 429 || error.status === 503) {
			headers['Retry-After'] = String(parts.settings.retryAfterSeconds);
		}
		// The session made for this request stays the browser's: its retry comes back with it.
		if (minted.setCookie) headers['Set-Cookie'] = minted.setCookie;
		return error.toResponse(headers);
	}
}

/** The `Set-Cookie` of a default session made by this request, for its response. */
interface MintedSession {
	setCookie?: string;
}

const cookieHeaders = (setCookie: string | undefined) =>
	setCookie ? { 'Set-Cookie': setCookie } : undefined;

async function connect<Topics extends TopicMapOf<Topics>>(
	parts: ConnectParts<Topics>,
	event: RequestEvent,
	span: StreamSpan | undefined,
	minted: MintedSession,
): Promise<Response> {
	if (parts.isClosed()) throw shuttingDown();
	const { options, settings, store, streams } = parts;
	const requested = parseTopics(event.url, settings.declared, settings.maxTopics);
	const lists = streamListsOf(event.request, event.url, requested);
	const client = clientOf(event.url);
	// The default session (a cookie) and no `authorize`: nothing to wait for.
	const found = resolveSession(options, event);
	const who = found instanceof Promise ? await found : found;
	const session = who.id;
	minted.setCookie = who.setCookie;
	const topics = options.authorize
		? await authorizeTopics(options, event, session, requested)
		: requested;
	checkConnectionLimit(streams, session, settings.maxConnectionsPerSession);
	// HEAD (SvelteKit hands it to the GET handler): would this stream be accepted? The same checks
	// and answers, no stream. SSEClient asks it after a failure, because a browser's EventSource
	// cannot tell a 400 from a 503, nor read a Retry-After.
	if (event.request.method === 'HEAD') {
		return new Response(null, { headers: responseHeaders(cookieHeaders(who.setCookie)) });
	}
	streams.reserve(session);
	try {
		if (!parts.feed.listening) await parts.feed.untilListening();
		const lastEventId = resumePosition(event.request, event.url);
		const plan = await planReplay({
			store,
			session,
			client,
			topics,
			lastEventId,
			newTopicHistory: options.newTopicHistory,
			initialHistory: options.initialHistory,
			// Only topics the stream may carry (`authorize` may have narrowed them).
			history: allowedOf(lists.history, topics, requested),
			first: allowedOf(lists.first, topics, requested),
			had: allowedOf(lists.had, topics, requested),
		});
		span?.planned(topics.length, lastEventId !== null, plan);
		if (parts.isClosed()) throw shuttingDown();
		const registration = registrationOf(client, plan);
		const record = cursorRecordOf(registration, topics, null);
		// Before the stream exists, so that topic safety sees it from its first byte.
		const sync = syncReadsOf(store);
		if (sync) sync.setCursorRecord(session, record);
		else await store.setCursorRecord(session, record);
		if (parts.isClosed()) {
			// Closed while the record was written: no stream may outlive the hub.
			const ended = cursorRecordOf(registration, topics, plan.position);
			store.setCursorRecord(session, ended).catch(settings.onError);
			throw shuttingDown();
		}
		return openStream(parts, who, topics, plan, event.request.signal, registration, span);
	} catch (cause) {
		streams.release(session);
		if (cause instanceof SSEHubError) throw cause;
		throw new SSEHubError(
			'history_unavailable',
			503,
			'The event history is unavailable; retry shortly.',
			{},
			{ cause },
		);
	}
}

/** The topics of `listed` the stream carries: all of them unless `authorize` narrowed `requested`. */
function allowedOf(listed: string[], topics: string[], requested: string[]): string[] {
	return listed.length === 0 || topics === requested
		? listed
		: listed.filter((topic) => topics.includes(topic));
}

/**
 * Refuses (429) a stream past the session's limit. The stream is counted right after this check,
 * before it is set up, so that requests arriving together cannot all pass it.
 */
function checkConnectionLimit(streams: OpenStreams, session: string, limit: number): void {
	const open = streams.openCount(session);
	if (open >= limit) {
		throw new SSEHubError(
			'too_many_connections',
			429,
			`This session already has ${open} open event streams (the limit is ${limit}); close one or retry later.`,
		);
	}
}

/** What the new stream's cursor record says, and the epoch its positions count in. */
function registrationOf(client: string | undefined, plan: ReplayPlan): Registration {
	return {
		connection: randomId(),
		client,
		epoch: plan.epoch,
		added: plan.added,
		position: plan.position,
	};
}

function openStream<Topics extends TopicMapOf<Topics>>(
	parts: ConnectParts<Topics>,
	{ id: session, setCookie }: RequestSession,
	topics: string[],
	plan: ReplayPlan,
	signal: AbortSignal,
	registration: Registration,
	span: StreamSpan | undefined,
): Response {
	const { settings, counters } = parts;
	return produceSSE<Topics>(
		(_emit, connection: SSEConnection) => {
			const stream = new HubStream(session, topics, connection, registration, counters);
			parts.streams.add(stream);
			counters.streamsOpened++;
			parts.feed.track(stream);
			// The span ends once the replay is written, not with the stream (which may last days).
			parts.replay.writeStart(stream, plan).then(
				(outcome) => span?.replayed(outcome),
				(error: unknown) => {
					span?.failed(error);
					settings.onError(error);
					connection.abort('error');
				},
			);
			return untrackOnClose(parts, stream);
		},
		{
			signal,
			headers: cookieHeaders(setCookie),
			keepAliveMs: settings.keepAliveMs,
			retryMs: retryHint(settings),
			maxBufferedBytes: settings.maxBufferedBytes,
			onSlowConsumer: slowConsumerHook(parts.options, session),
		},
	);
}

/** What ends a stream's membership: it leaves the OpenStreams and its cursor record is closed. */
function untrackOnClose<Topics extends TopicMapOf<Topics>>(
	{ streams, store, settings, counters }: ConnectParts<Topics>,
	stream: HubStream,
) {
	// Its own scope, so that an open stream holds only its HubStream (not its replay plan).
	return (reason: CloseReason) => {
		const { registration } = stream;
		streams.remove(stream);
		streams.release(stream.session);
		counters.streamsClosed++;
		if (reason === 'slow-consumer') counters.slowConsumers++;
		const to = Math.max(stream.lastSeq, registration.position);
		store
			.setCursorRecord(stream.session, cursorRecordOf(registration, stream.topics, to))
			.catch(settings.onError);
	};
}

/** The app's `onSlowConsumer`, told the session; nothing to hold per stream when there is none. */
function slowConsumerHook<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
	session: string,
) {
	const hook = options.onSlowConsumer;
	return hook && ((info: { bufferedBytes: number; limit: number }) => hook({ session, ...info }));
}
