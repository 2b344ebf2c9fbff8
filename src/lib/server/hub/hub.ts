import type { RequestEvent } from '@sveltejs/kit';
import type { SSEConnection } from '../connection.js';
import { SSEHubError, SSEValidationError } from '../errors.js';
import { memoryHistory } from '../history/memory.js';
import type { StoredEvent, TopicCursor } from '../history/store.js';
import { produceSSE, type TopicMap } from '../produce-sse.js';
import { planReplay, type ReplayPlan, replayMissedMessages } from '../replay.js';
import { closeOnShutdown } from '../shutdown.js';
import { encodeControl, serializeData, topicNameProblem } from '../wire.js';
import { cookieSession, parseTopics, resumePosition } from './request.js';
import { Subscriber } from './subscriber.js';
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
			throw new TypeError(`createSSEHub: topic ${JSON.stringify(topic)} is invalid: ${problem}.`);
	}
	if (declared.size === 0) throw new TypeError('createSSEHub: declare at least one topic.');

	const ownsStore = !options.history;
	const store = options.history ?? memoryHistory();
	const limits = options.limits ?? {};
	const maxTopics = limits.maxTopics ?? 32;
	const maxConnections = limits.maxConnectionsPerSession ?? 32;
	const onError = options.onError ?? ((error) => console.error('[svelte-sse-kit]', error));

	const byTopic = new Map<string, Set<Subscriber>>();
	const bySession = new Map<string, Set<Subscriber>>();
	/** Streams per session, counted from the moment a request passes the limit check. */
	const openPerSession = new Map<string, number>();
	let closed = false;
	const stopShutdownHook =
		options.closeOnSignals === false ? () => {} : closeOnShutdown(closeStreams);

	function addTo<K>(index: Map<K, Set<Subscriber>>, key: K, subscriber: Subscriber): void {
		const set = index.get(key);
		if (set) set.add(subscriber);
		else index.set(key, new Set([subscriber]));
	}

	function removeFrom<K>(index: Map<K, Set<Subscriber>>, key: K, subscriber: Subscriber): void {
		const set = index.get(key);
		set?.delete(subscriber);
		if (set?.size === 0) index.delete(key);
	}

	function release(session: string): void {
		const count = (openPerSession.get(session) ?? 1) - 1;
		if (count > 0) openPerSession.set(session, count);
		else openPerSession.delete(session);
	}

	function closeStreams(): void {
		for (const subscribers of bySession.values()) {
			for (const subscriber of [...subscribers]) subscriber.connection.close();
		}
	}

	async function sessionOf(event: RequestEvent): Promise<string | null> {
		const session = options.session
			? await options.session(event)
			: cookieSession(event.cookies, event.url, options.cookie);
		return session || null;
	}

	async function resolveSession(event: RequestEvent): Promise<string> {
		const session = await sessionOf(event);
		if (!session) {
			throw new SSEHubError(
				'unauthorized',
				401,
				'No session: sign in before subscribing to events.',
			);
		}
		return session;
	}

	async function authorizeTopics(event: RequestEvent, session: string, topics: string[]) {
		if (!options.authorize) return topics;
		const verdict = await options.authorize({ event, session, topics });
		if (verdict === true) return topics;
		const allowed =
			verdict === false ? [] : topics.filter((t) => verdict.allowedTopics.includes(t));
		if (allowed.length === 0) {
			throw new SSEHubError(
				'forbidden',
				403,
				`Not allowed to subscribe to: ${topics.join(', ')}.`,
				{
					topics,
				},
			);
		}
		return allowed;
	}

	/** Writes the replay at the client's pace, then switches the subscriber to live. */
	/**
	 * Writes what history holds for `cursors` at the client's pace (announcing an `expired` gap
	 * first); returns how many events it sent, or `null` if the connection ended meanwhile.
	 */
	async function writeHistory(
		subscriber: Subscriber,
		cursors: TopicCursor[],
	): Promise<number | null> {
		const { connection } = subscriber;
		let sent = 0;
		let first = true;
		for await (const page of replayMissedMessages({
			store,
			session: subscriber.session,
			cursors,
			pageSize: limits.replayPageSize,
		})) {
			if (connection.closed) return null;
			if (first && page.expired.length > 0) {
				connection.write(encodeControl('sse:gap', { reason: 'expired', topics: page.expired }));
			}
			first = false;
			for (const event of page.events) {
				// At the client's pace: a replay larger than the buffer limit must not trip it.
				if (!connection.hasRoom) await connection.ready();
				if (connection.closed) return null;
				if (event.seq > subscriber.lastSeq) sent++;
				subscriber.send(event);
			}
		}
		return connection.closed ? null : sent;
	}

	/** A new stream: gap notice, replay, `sse:ready`, then live. */
	async function stream(subscriber: Subscriber, plan: ReplayPlan): Promise<void> {
		if (plan.gap) subscriber.connection.write(encodeControl('sse:gap', plan.gap));
		const replayed = await writeHistory(subscriber, plan.cursors);
		if (replayed === null) return;
		subscriber.connection.write(encodeControl('sse:ready', { replayed }));
		// The client has everything up to its position: a catch-up (or a late live event) must not
		// send it again when the replay had nothing newer.
		subscriber.lastSeq = Math.max(subscriber.lastSeq, plan.position);
		subscriber.goLive();
	}

	/**
	 * What an open stream registered in the store: the epoch its positions count in (known for a
	 * shared store, the only kind that resyncs) and the range of its subscription record.
	 */
	interface Registration {
		connection: string;
		epoch: string | undefined;
		from: number;
		position: number;
	}
	const registrations = new WeakMap<Subscriber, Registration>();

	/**
	 * The shared store's live feed was interrupted (Redis restarted, say) and may have missed
	 * events: every open stream catches up from history, holding live events meanwhile.
	 */
	function resync(): void {
		const held: Subscriber[] = [];
		for (const subscribers of bySession.values()) {
			for (const subscriber of subscribers) {
				if (!subscriber.live) continue;
				subscriber.holdLive();
				held.push(subscriber);
			}
		}
		if (held.length === 0) return;
		const abort = (subscriber: Subscriber) => (error: unknown) => {
			onError(error);
			subscriber.connection.abort('error'); // it reconnects and resumes from its position
		};
		store.epoch().then(
			(epoch) => {
				for (const subscriber of held) catchUp(subscriber, epoch).catch(abort(subscriber));
			},
			(error: unknown) => {
				for (const subscriber of held) abort(subscriber)(error);
			},
		);
	}

	/** Writes what `subscriber` missed while the feed was down, then lets live events through. */
	async function catchUp(subscriber: Subscriber, epoch: string): Promise<void> {
		const registration = registrations.get(subscriber);
		if (subscriber.connection.closed || !registration) return;
		if (registration.epoch !== epoch) {
			// A new lifetime (Redis restarted empty): the stream's `seq` counts in the old one, its
			// subscription record is gone, and so is whatever the feed had not delivered before the
			// failure. Announce the gap, register again, then send the new epoch from its start.
			Object.assign(registration, { epoch, from: 0, position: 0 });
			subscriber.lastSeq = 0;
			const topics = [...subscriber.topics];
			subscriber.connection.write(encodeControl('sse:gap', { reason: 'epoch', topics }));
			const record = { connection: registration.connection, topics, from: 0, to: null };
			await store.setSubscription(subscriber.session, record);
		}
		const cursors = [...subscriber.topics].map((topic) => ({ topic, after: subscriber.lastSeq }));
		if ((await writeHistory(subscriber, cursors)) !== null) subscriber.goLive();
	}

	/** Streams with live events queued in this tick. */
	const dirty = new Set<Subscriber>();
	let flushScheduled = false;

	/**
	 * Writes the tick's live events, one chunk per stream. Flushing after the tick (not per
	 * event) lets a burst of publishes share a chunk, at the cost of one turn of the event loop.
	 */
	function flush(): void {
		flushScheduled = false;
		const chunks = new Map<string, Uint8Array>();
		for (const subscriber of dirty) subscriber.flush(chunks);
		dirty.clear();
	}

	/** Hands a stored event to the streams that want it. */
	function deliver(stored: StoredEvent): void {
		const targets =
			stored.session === undefined ? byTopic.get(stored.topic) : bySession.get(stored.session);
		for (const subscriber of targets ?? []) {
			if (subscriber.topics.has(stored.topic) && subscriber.deliver(stored)) dirty.add(subscriber);
		}
		if (dirty.size > 0 && !flushScheduled) {
			flushScheduled = true;
			setImmediate(flush);
		}
	}

	// With a store shared by several processes, live events come from its feed (ours included),
	// so a client on any process gets what any process publishes. Streams wait until it listens.
	function listen() {
		const attempt = store.subscribe
			? store.subscribe({ onEvent: deliver, onResync: resync })
			: Promise.resolve(null);
		attempt.catch(() => {}); // a connection that waits on it reports the failure
		return attempt;
	}
	let listening = listen();
	listening.catch(onError); // nothing waits on the first attempt yet

	/** Resolves once the feed listens; a failed attempt (Redis down at start) is made again. */
	async function untilListening(): Promise<void> {
		const current = listening;
		try {
			await current;
		} catch {
			if (listening === current && !closed) listening = listen();
			await listening;
		}
	}

	function open(
		session: string,
		topics: string[],
		plan: ReplayPlan,
		signal: AbortSignal,
		connectionId: string,
		epoch: string | undefined,
	) {
		return produceSSE<Topics>(
			(_emit, connection: SSEConnection) => {
				const subscriber = new Subscriber(session, topics, connection);
				const registration: Registration = {
					connection: connectionId,
					epoch,
					from: plan.from,
					position: plan.position,
				};
				registrations.set(subscriber, registration);
				addTo(bySession, session, subscriber);
				for (const topic of topics) addTo(byTopic, topic, subscriber);
				stream(subscriber, plan).catch((error: unknown) => {
					onError(error);
					connection.abort('error');
				});
				return () => {
					removeFrom(bySession, session, subscriber);
					for (const topic of topics) removeFrom(byTopic, topic, subscriber);
					release(session);
					const record = {
						connection: connectionId,
						topics,
						from: registration.from,
						to: Math.max(subscriber.lastSeq, registration.position),
					};
					store.setSubscription(session, record).catch(onError);
				};
			},
			{
				signal,
				keepAliveMs: limits.keepAliveMs,
				retryMs: limits.retryMs,
				maxBufferedBytes: limits.maxBufferedBytes,
				onSlowConsumer: (info) => options.onSlowConsumer?.({ session, ...info }),
			},
		);
	}

	async function connect(event: RequestEvent): Promise<Response> {
		if (closed)
			throw new SSEHubError('hub_closed', 503, 'This event hub is shutting down; retry shortly.');
		const requested = parseTopics(event.url, declared, maxTopics);
		const session = await resolveSession(event);
		const topics = await authorizeTopics(event, session, requested);

		const open_ = openPerSession.get(session) ?? 0;
		if (open_ >= maxConnections) {
			throw new SSEHubError(
				'too_many_connections',
				429,
				`This session already has ${open_} open event streams (the limit is ${maxConnections}); close one or retry later.`,
			);
		}
		openPerSession.set(session, open_ + 1);
		try {
			await untilListening();
			const plan = await planReplay({
				store,
				session,
				topics,
				lastEventId: resumePosition(event.request, event.url),
				newTopicHistory: options.newTopicHistory,
			});
			if (closed) {
				throw new SSEHubError('hub_closed', 503, 'This event hub is shutting down; retry shortly.');
			}
			const connectionId = crypto.randomUUID();
			// What the stream's positions count in, so that a resync can tell a restarted store.
			const epoch = store.subscribe ? await store.epoch() : undefined;
			await store.setSubscription(session, {
				connection: connectionId,
				topics,
				from: plan.from,
				to: null,
			});
			return open(session, topics, plan, event.request.signal, connectionId, epoch);
		} catch (cause) {
			release(session);
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
			let stored: StoredEvent;
			try {
				stored = await store.append({ topic, data: json, session: publishOptions.session });
			} catch (cause) {
				throw new SSEHubError(
					'history_unavailable',
					503,
					`Could not store the event: ${(cause as Error).message}`,
					{},
					{ cause },
				);
			}
			if (!store.subscribe) deliver(stored);
			return stored.id;
		},

		sessionOf,

		disconnect(session) {
			const subscribers = [...(bySession.get(session) ?? [])];
			for (const subscriber of subscribers) subscriber.connection.close();
			return subscribers.length;
		},

		async stats() {
			const history = await store.stats();
			let connections = 0;
			for (const set of bySession.values()) connections += set.size;
			return {
				connections,
				sessions: history.sessions,
				events: history.events,
				epoch: history.epoch,
				head: history.head,
			};
		},

		async close() {
			if (closed) return;
			closed = true;
			stopShutdownHook();
			closeStreams();
			const stopListening = await listening.catch(() => null);
			await stopListening?.();
			if (ownsStore) await store.close();
		},
	};
}
