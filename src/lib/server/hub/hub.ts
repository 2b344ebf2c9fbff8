// createSSEHub: the hub's parts put together, and the flow from a request to an open stream.
import type { RequestEvent } from '@sveltejs/kit';
import { SSEConfigError, SSEHubError, SSEValidationError } from '../errors.js';
import type { AppendedEvent } from '../history/index.js';
import { currentStore, idempotencyKeyProblem, memoryHistory } from '../history/index.js';
import { planReplay, type ReplayPlan, ReplayWriter } from '../replay/index.js';
import type { SSEConnection } from '../transport/index.js';
import { closeOnShutdown, produceSSE, type TopicMap } from '../transport/index.js';
import { serializeData, topicNameProblem } from '../wire/index.js';
import { authorizeTopics, resolveSession, sessionOf } from './access.js';
import { FanOut } from './fan-out.js';
import { SharedFeed } from './feed.js';
import { OpenStreams } from './open-streams.js';
import { randomId } from './random-id.js';
import { clientOf, historyOf, parseTopics, resumePosition } from './request.js';
import { sessionHandle } from './session-handle.js';
import { HubStream, type Registration } from './stream.js';
import type { SSEHub, SSEHubOptions } from './types.js';

/**
 * One endpoint for many typed topics, with history so that a client that drops off gets
 * exactly what it missed.
 *
 * ```ts
 * // src/lib/server/events.ts
 * export const hub = createSSEHub<{ chat: { text: string } }>({ topics: ['chat'] });
 * // src/routes/api/events/+server.ts
 * export const GET = hub.handler();
 * // anywhere on the server
 * await hub.publish('chat', { text: 'hello' });
 * ```
 */
export function createSSEHub<Topics extends TopicMap>(
	options: SSEHubOptions<Topics>,
): SSEHub<Topics> {
	const declared = new Set<string>(options.topics);
	for (const topic of declared) {
		const problem = topicNameProblem(topic);
		if (problem)
			throw new SSEConfigError(
				`createSSEHub: topic ${JSON.stringify(topic)} is invalid: ${problem}.`,
			);
	}
	if (declared.size === 0) throw new SSEConfigError('createSSEHub: declare at least one topic.');

	const ownsStore = !options.history;
	const store = options.history ? currentStore(options.history) : memoryHistory();
	const limits = options.limits ?? {};
	const stream = options.stream ?? {};
	const keepAliveMs = stream.keepAliveMs ?? limits.keepAliveMs;
	const retryMs = stream.retryMs ?? limits.retryMs;
	const replayPageSize = stream.replayPageSize ?? limits.replayPageSize;
	const maxTopics = limits.maxTopics ?? 32;
	const maxConnections = limits.maxConnectionsPerSession ?? 32;
	const onError = options.onError ?? ((error) => console.error('[svelte-sse-kit]', error));

	const streams = new OpenStreams();
	let closed = false;
	const stopShutdownHook =
		options.closeOnSignals === false
			? () => {}
			: closeOnShutdown(
					() => streams.closeAll(),
					// The server has closed: the store's connections (Redis) would keep the process up.
					() => {
						close()
							.then(() => (ownsStore ? undefined : store.close()))
							.catch(onError);
					},
				);
	const replay = new ReplayWriter(store, replayPageSize);
	const fanOut = new FanOut(streams);
	const feed = new SharedFeed({ store, streams, replay, onEvent: fanOut.deliver, onError });

	/** What ends a stream's membership: it leaves the open streams and its record is closed. */
	function untrackOnClose(stream: HubStream) {
		// Its own scope, so that an open stream holds only its HubStream (not its replay plan).
		return () => {
			const { registration } = stream;
			streams.remove(stream);
			streams.release(stream.session);
			const record = {
				connection: registration.connection,
				client: registration.client,
				topics: stream.topics,
				added: registration.added,
				from: registration.position,
				to: Math.max(stream.lastSeq, registration.position),
			};
			store.setCursorRecord(stream.session, record).catch(onError);
		};
	}

	/** The app's `onSlowConsumer`, told the session; nothing to hold per stream when there is none. */
	function slowConsumerHook(session: string) {
		const hook = options.onSlowConsumer;
		return hook && ((info: { bufferedBytes: number; limit: number }) => hook({ session, ...info }));
	}

	function open(
		session: string,
		topics: string[],
		plan: ReplayPlan,
		signal: AbortSignal,
		registration: Registration,
	) {
		return produceSSE<Topics>(
			(_emit, connection: SSEConnection) => {
				const stream = new HubStream(session, topics, connection, registration);
				streams.add(stream);
				feed.track(stream);
				replay.writeStart(stream, plan).catch((error: unknown) => {
					onError(error);
					connection.abort('error');
				});
				return untrackOnClose(stream);
			},
			{
				signal,
				keepAliveMs,
				retryMs,
				maxBufferedBytes: limits.maxBufferedBytes,
				onSlowConsumer: slowConsumerHook(session),
			},
		);
	}

	const shuttingDown = () =>
		new SSEHubError('hub_closed', 503, 'This event hub is shutting down; retry shortly.');

	async function connect(event: RequestEvent): Promise<Response> {
		if (closed) throw shuttingDown();
		const requested = parseTopics(event.url, declared, maxTopics);
		const history = historyOf(event.url, requested);
		const client = clientOf(event.url);
		const session = await resolveSession(options, event);
		const topics = await authorizeTopics(options, event, session, requested);

		const open_ = streams.openCount(session);
		if (open_ >= maxConnections) {
			throw new SSEHubError(
				'too_many_connections',
				429,
				`This session already has ${open_} open event streams (the limit is ${maxConnections}); close one or retry later.`,
			);
		}
		streams.reserve(session);
		try {
			await feed.untilListening();
			const plan = await planReplay({
				store,
				session,
				client,
				topics,
				lastEventId: resumePosition(event.request, event.url),
				newTopicHistory: options.newTopicHistory,
				history: history.filter((topic) => topics.includes(topic)),
			});
			if (closed) throw shuttingDown();
			const registration = {
				connection: randomId(),
				client,
				epoch: plan.epoch,
				added: plan.added,
				position: plan.position,
			};
			const record = {
				connection: registration.connection,
				client,
				topics,
				added: plan.added,
				from: plan.position,
				to: null,
			};
			await store.setCursorRecord(session, record);
			if (closed) {
				// Closed while the record was written: no stream may outlive the hub.
				store.setCursorRecord(session, { ...record, to: plan.position }).catch(onError);
				throw shuttingDown();
			}
			return open(session, topics, plan, event.request.signal, registration);
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

	async function close(): Promise<void> {
		if (closed) return;
		closed = true;
		stopShutdownHook();
		streams.closeAll();
		await feed.stop();
		if (ownsStore) await store.close();
	}

	return {
		handler() {
			return async (event) => {
				try {
					return await connect(event);
				} catch (error) {
					if (!(error instanceof SSEHubError)) throw error;
					if (error.code === 'history_unavailable') onError(error.cause ?? error);
					const retryAfter = String(limits.retryAfterSeconds ?? 5);
					const headers =
						error.status === 429 || error.status === 503
							? { 'Retry-After': retryAfter }
							: undefined;
					return error.toResponse(headers);
				}
			};
		},

		handle: sessionHandle(options),

		async publish(topic, data, publishOptions = {}) {
			if (closed) throw new SSEHubError('hub_closed', 503, 'This event hub is closed.');
			if (!declared.has(topic)) {
				throw new SSEHubError(
					'unknown_topic',
					400,
					`Unknown topic "${topic}"; declared: ${[...declared].join(', ')}.`,
					{
						topics: [topic],
					},
				);
			}
			const { session, idempotencyKey } = publishOptions;
			const keyProblem =
				idempotencyKey === undefined ? undefined : idempotencyKeyProblem(idempotencyKey);
			if (keyProblem) {
				throw new SSEHubError(
					'invalid_idempotency_key',
					400,
					`publish: idempotencyKey ${keyProblem}.`,
				);
			}
			let value: unknown = data;
			const schema = options.schemas?.[topic];
			if (schema) {
				const result = await schema['~standard'].validate(data);
				if (result.issues) throw new SSEValidationError(topic, result.issues);
				value = result.value;
			}
			let json: string;
			try {
				json = serializeData(value);
			} catch (cause) {
				throw new SSEHubError('invalid_data', 400, (cause as Error).message, { topic }, { cause });
			}
			let stored: AppendedEvent;
			try {
				stored = await store.append({ topic, data: json, session, idempotencyKey });
			} catch (cause) {
				throw new SSEHubError(
					'history_unavailable',
					503,
					`Could not store the event: ${(cause as Error).message}`,
					{},
					{ cause },
				);
			}
			// A duplicate went out when it was first stored; a shared store's feed brings none.
			if (!store.listen && !stored.duplicate) fanOut.deliver(stored);
			return stored.id;
		},

		sessionOf: (event) => sessionOf(options, event),

		disconnect(session) {
			return streams.closeSession(session);
		},

		async stats() {
			const history = await store.stats();
			return {
				connections: streams.size,
				sessions: history.sessions,
				events: history.events,
				epoch: history.epoch,
				head: history.head,
			};
		},

		close,
	};
}
