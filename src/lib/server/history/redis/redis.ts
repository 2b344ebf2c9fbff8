/**
 * `redisHistory()`: the `HistoryStore` for several processes behind a load balancer. History, the
 * hub-wide sequence and the epoch live in Redis; every write is one Lua script, so it is atomic
 * and its pub/sub message goes out in `seq` order; every key expires.
 *
 * Key layout under `prefix` (default `sse:`):
 * - `epoch`, `seq`: the store's lifetime name and its counter; created together, gone together.
 *   `run`: the Redis `run_id` the epoch began in (a restart may have loaded an older snapshot).
 * - `t:<topic>`: stream of a topic's broadcast events; `s:<session>`: stream of a session's own
 *   events. Entry ids are `<seq>-0`, so ids increase with `seq` whichever process wrote them.
 * - `drops` (topic → newest `seq` a topic stream dropped), `sd:<session>` (the same per topic of
 *   one session stream), `forgot` (newest `seq` of the topic streams forgotten altogether).
 * - `snewest` (session → newest `seq` of each topic of its own events), folded into `sforgot`
 *   (topic → the same over forgotten sessions) and `sfloor` (over all topics) when a session is
 *   forgotten; `r:<session>` notes `sfloor` when the session is made.
 * - `r:<session>`: hash of cursor records by connection id.
 * - `i:<epoch>:<key>`: the event first appended with an idempotency key, for `maxAgeMs`.
 * - `topics`, `sessions`: sorted sets of the live topic streams and sessions by last activity,
 *   so idle ones are found and forgotten without scanning the keyspace.
 * - `live`: the pub/sub channel every append is published on.
 *
 * Needs Redis ≥ 6.2 on one node (standalone or Sentinel; not Cluster), with a `noeviction`
 * policy: an evicted `epoch` or stream would silently lose history.
 */

import { createClient, ErrorReply } from 'redis';
import { SSEConfigError } from '../../errors.js';
import { checkIdempotencyKey, type HistoryBounds, positiveMs, resolveBounds } from '../bounds.js';
import { newEpoch } from '../epoch.js';
import type {
	AppendedEvent,
	AppendInput,
	CursorRecord,
	HistoryStats,
	HistoryStore,
	LiveHandlers,
	ReadQuery,
	ReadResult,
	StoredEvent,
} from '../store.js';
import { type Script, scripts } from './scripts.js';

/** The subscriber connection `subscribe()` makes with `client.duplicate()`. */
export interface RedisSubscriber {
	readonly isReady: boolean;
	connect(): Promise<unknown>;
	subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
	unsubscribe(channel: string): Promise<unknown>;
	close(): Promise<unknown>;
	destroy(): void;
	on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
}

/** What the store needs of a node-redis (v5 or v6) client, e.g. one from `createClient()`. */
export interface RedisClient {
	readonly isOpen: boolean;
	readonly isReady: boolean;
	eval(script: string, options: { arguments: string[] }): Promise<unknown>;
	evalSha(sha1: string, options: { arguments: string[] }): Promise<unknown>;
	duplicate(): RedisSubscriber;
	on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
	off(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
}

/** Where Redis is and how to use it, the bounds (`HistoryBounds`), and the clock. */
export interface RedisHistoryOptions extends Partial<HistoryBounds> {
	/**
	 * A node-redis client you created and connected, shared with the rest of your app. The store
	 * leaves it open on `close()`. Its own `keyPrefix` is not applied: use `prefix`.
	 * @default a client of its own, made from `url`
	 */
	client?: RedisClient;
	/**
	 * Where Redis is, when the store makes, connects and closes its own client (one that fails fast
	 * while Redis is down instead of queueing commands).
	 * @default 'redis://127.0.0.1:6379'
	 */
	url?: string;
	/**
	 * Prefix of every key and of the pub/sub channel; processes that share history share it, and
	 * apps that share one Redis use different ones.
	 * @default 'sse:'
	 */
	prefix?: string;
	/**
	 * How long a call waits for Redis (to connect or to answer) before it rejects, so a hub answers
	 * 503 promptly instead of hanging; `close()` too waits no longer than this for Redis.
	 * @default 1000
	 */
	timeoutMs?: number;
	/**
	 * Keep the epoch (and so every client's position) when Redis restarts. Only for a Redis that
	 * loses no acknowledged write across a restart: AOF with `appendfsync always` on one node, no
	 * failover to a replica. By default every restart of Redis starts a new epoch (clients get
	 * `sse:gap` `epoch`), since one restored from a snapshot would hand out ids again.
	 * @default false
	 */
	keepEpochOnRestart?: boolean;
	/**
	 * The clock for event times and the age and idle bounds, in ms; injectable for tests. Every
	 * process sharing a prefix must have (roughly) the same clock.
	 * @default Date.now
	 */
	now?: () => number;
}

/** Why a call to the Redis store failed; `code` is what to branch on. */
export type RedisHistoryErrorCode =
	/** No connection to Redis, or it broke, or Redis did not answer within `timeoutMs`. */
	| 'redis_unreachable'
	/** Redis answered with an error (out of memory, say). */
	| 'redis_error'
	/** The store was closed. */
	| 'store_closed';

export class RedisHistoryError extends Error {
	override name = 'RedisHistoryError';
	readonly code: RedisHistoryErrorCode;

	constructor(code: RedisHistoryErrorCode, message: string, options?: ErrorOptions) {
		super(message, options);
		this.code = code;
	}
}

/** The URL without credentials, for error messages. */
function describeUrl(url: string): string {
	try {
		const parsed = new URL(url);
		parsed.username = '';
		parsed.password = '';
		return parsed.toString().replace(/\/$/, '');
	} catch {
		return 'the configured URL';
	}
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

/** Cursor values as the read script takes them; odd numbers behave as in `memoryHistory`. */
function afterArg(after: number): string {
	if (after === Number.NEGATIVE_INFINITY) return '-1';
	return Number.isFinite(after) ? String(after) : 'inf';
}
function countArg(count: number): number {
	return Number.isNaN(count) ? 0 : Math.min(Math.max(Math.ceil(count), 0), 1_000_000);
}

/**
 * History in Redis, shared by every process that uses the same Redis and `prefix`: one `seq`,
 * one epoch (kept in Redis, so a restart of the app keeps it and a flushed Redis gets a new one),
 * and a live feed over pub/sub. Same semantics and bounds as `memoryHistory`.
 *
 * ```ts
 * import { redisHistory } from 'svelte-sse-kit/server/redis';
 * const hub = createSSEHub({ topics, history: redisHistory({ url: env.REDIS_URL }) });
 * ```
 */
export function redisHistory(options: RedisHistoryOptions = {}): HistoryStore {
	const { maxLength, maxAgeMs, sessionTtlMs, maxSessions } = resolveBounds('redisHistory', options);
	const timeoutMs = positiveMs('redisHistory', 'timeoutMs', options.timeoutMs ?? 1000);
	const prefix = options.prefix ?? 'sse:';
	const now = options.now ?? Date.now;
	const keepEpoch = options.keepEpochOnRestart === true;
	if (typeof prefix !== 'string' || prefix === '')
		throw new SSEConfigError('redisHistory: prefix must be a non-empty string, such as "sse:".');
	if (options.client && options.url !== undefined)
		throw new SSEConfigError('redisHistory: pass either `client` or `url`, not both.');

	const url = options.url ?? 'redis://127.0.0.1:6379';
	const own = options.client
		? undefined
		: createClient({
				url,
				// Fail fast while disconnected instead of queueing: a hub must answer 503, not hang.
				disableOfflineQueue: true,
				socket: {
					connectTimeout: timeoutMs,
					reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
				},
			});
	const owned = own !== undefined;
	const client: RedisClient = options.client ?? (own as RedisClient);
	const target = owned ? describeUrl(url) : 'the given client';

	let lastError: unknown;
	const onError = (error?: unknown) => {
		lastError = error;
	};
	const onReady = () => {
		lastError = undefined;
	};
	client.on('error', onError);
	client.on('ready', onReady);
	let connecting: Promise<unknown> | undefined;
	let waiting: Promise<void> | undefined;
	let closed = false;

	const unreachable = (cause: unknown) =>
		new RedisHistoryError(
			'redis_unreachable',
			`Redis is unreachable at ${target}: ${cause instanceof Error ? cause.message || cause.name : String(cause)}. Check that it runs and that this process can reach it.`,
			{ cause },
		);

	/** Resolves once connected; rejects at once while Redis is known down, else after timeoutMs. */
	async function ready(): Promise<void> {
		if (closed) throw new RedisHistoryError('store_closed', 'This Redis history store is closed.');
		if (client.isReady) return;
		if (owned && !connecting) {
			connecting = own?.connect();
			connecting?.catch(() => {}); // it only rejects when closed; errors arrive as events
		} else if (!client.isOpen) {
			throw unreachable(new Error('the client is not connected; call client.connect() first'));
		} else if (lastError !== undefined) {
			throw unreachable(lastError);
		}
		// One wait for every call that arrives while connecting, not one pair of listeners each.
		waiting ??= new Promise<void>((resolve, reject) => {
			const done = (error?: unknown) => {
				clearTimeout(timer);
				client.off('ready', done);
				client.off('error', fail);
				waiting = undefined;
				if (error === undefined) resolve();
				else reject(unreachable(error));
			};
			const fail = (error?: unknown) => done(error ?? new Error('connection failed'));
			const timer = setTimeout(() => {
				// Known down from now on (until 'ready'): later calls need not wait again.
				lastError = new Error(`no connection within ${timeoutMs} ms`);
				fail(lastError);
			}, timeoutMs);
			client.on('ready', done);
			client.on('error', fail);
		});
		await waiting;
	}

	/** Runs a script (by SHA, loading it on first use) with the common arguments first. */
	async function run(script: Script, args: string[], time = now()): Promise<unknown> {
		if (!Number.isFinite(time)) throw new SSEConfigError(`redisHistory: now() returned ${time}.`);
		await ready();
		const argv = [
			prefix,
			String(time),
			String(maxLength),
			String(maxAgeMs),
			String(sessionTtlMs),
			newEpoch(),
			...args,
		];
		const call = async () => {
			try {
				return await client.evalSha(script.sha, { arguments: argv });
			} catch (error) {
				if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
				return client.eval(script.source, { arguments: argv });
			}
		};
		let timer: ReturnType<typeof setTimeout> | undefined;
		const pending = call();
		try {
			return await Promise.race([
				pending,
				new Promise<never>((_, reject) => {
					// The script may still run later, but whole or not at all: nothing is half-written.
					timer = setTimeout(reject, timeoutMs, new Error(`no answer within ${timeoutMs} ms`));
				}),
			]);
		} catch (error) {
			pending.catch(() => {}); // a late failure after the timeout has nobody to tell
			// An error reply is Redis speaking; anything else is the connection failing.
			if (error instanceof ErrorReply) {
				throw new RedisHistoryError('redis_error', `Redis refused the call: ${error.message}`, {
					cause: error,
				});
			}
			throw unreachable(error);
		} finally {
			clearTimeout(timer);
		}
	}

	// The highest seq this process has seen, in the epoch it saw last: a head below it in that epoch
	// means Redis went back in time (a snapshot loaded), and the next append starts a new epoch.
	const seen = { epoch: '', seq: 0 };
	function saw(epoch: string, seq: number): void {
		if (epoch !== seen.epoch) Object.assign(seen, { epoch, seq });
		else if (seq > seen.seq) seen.seq = seq;
	}
	/** What the scripts that can start a new epoch need to tell whether Redis went back. */
	const wentBackArgs = () => [keepEpoch ? '1' : '0', seen.epoch, String(seen.seq)];

	/** The epoch and head, after a new epoch if Redis went back in time. */
	/**
	 * The epoch and head, one script for the calls made in the same turn (`epoch()` and `head()`
	 * side by side cost one round trip). Not shared past it: a call that began earlier could
	 * answer with a head older than an event the caller has since seen.
	 */
	let metaThisTurn: Promise<[string, number]> | undefined;
	function meta(): Promise<[string, number]> {
		if (metaThisTurn) return metaThisTurn;
		metaThisTurn = (async () => {
			const [epoch, head] = (await run(scripts.meta, wentBackArgs())) as [unknown, unknown];
			saw(text(epoch), Number(head));
			return [text(epoch), Number(head)] as [string, number];
		})();
		queueMicrotask(() => {
			metaThisTurn = undefined;
		});
		return metaThisTurn;
	}

	// Sessions with a connection open on this process stay alive while it runs (memoryHistory
	// keeps open sessions forever; here a crashed process's open records age out instead).
	const openHere = new Map<string, Set<string>>();
	let heartbeat: ReturnType<typeof setInterval> | undefined;
	function trackOpen(session: string, record: CursorRecord): void {
		const open = openHere.get(session) ?? new Set<string>();
		if (record.to === null) open.add(record.connection);
		else open.delete(record.connection);
		if (open.size > 0) openHere.set(session, open);
		else openHere.delete(session);
		if (openHere.size > 0 && !heartbeat) {
			heartbeat = setInterval(
				() => {
					if (openHere.size > 0) run(scripts.heartbeat, [...openHere.keys()]).catch(() => {});
				},
				Math.max(10, sessionTtlMs / 3),
			);
			heartbeat.unref?.();
		} else if (openHere.size === 0 && heartbeat) {
			clearInterval(heartbeat);
			heartbeat = undefined;
		}
	}

	// One subscriber connection per store, however many listen.
	const listeners = new Set<LiveHandlers>();
	let subscriber: Promise<RedisSubscriber> | undefined;
	/** The subscriber connection once it listens: from then on, losing it or `client` is a doubt. */
	let listening: RedisSubscriber | undefined;
	let inDoubt = false;

	/**
	 * A connection the feed relies on was lost: what is published meanwhile reaches neither the
	 * subscriber connection nor, until the command connection is back, a catch-up read.
	 */
	function doubt(): void {
		if (!listening || inDoubt || closed) return;
		inDoubt = true;
		for (const handlers of listeners) handlers.onDoubt();
		settle(); // an error that left both connections up (node-redis drops `isReady` first)
	}

	/**
	 * Both connections are back (node-redis resubscribes before it reports 'ready'): everything
	 * from now on comes through the feed, and what it missed can be read, so listeners catch up.
	 */
	function settle(): void {
		if (!listening || !inDoubt || closed || !client.isReady || !listening.isReady) return;
		inDoubt = false;
		for (const handlers of listeners) handlers.onResync();
	}

	// Where the live feed is: pub/sub brings appends in seq order, so an id of the same epoch at or
	// below the last one means ids are being handed out again.
	let feed: { epoch: string; seq: number } | undefined;
	let retired: string | undefined;

	/**
	 * The feed saw the same ids twice: Redis went back in time with the epoch kept (restored from a
	 * snapshot with `keepEpochOnRestart`, say). Ends that epoch, then the streams catch up into the
	 * new one (`sse:gap` `epoch`); events still numbered in the old one are dropped meanwhile.
	 */
	function retire(epoch: string): void {
		if (retired === epoch) return;
		retired = epoch;
		run(scripts.retire, [epoch]).then(
			() => doubt(), // streams catch up into the new epoch (at once, both connections being up)
			() => {
				retired = undefined; // Redis went away: its return brings a resync of its own
			},
		);
	}

	function onFeedEvent(event: StoredEvent): void {
		const epoch = event.id.slice(0, event.id.lastIndexOf('-'));
		if (epoch === retired) return;
		const last = feed;
		if (last && epoch === last.epoch && event.seq <= last.seq) {
			retire(epoch);
			return;
		}
		feed = { epoch, seq: event.seq };
		if (epoch === seen.epoch) saw(epoch, event.seq);
		// Another lifetime began (flushed keys, a restart, a retired epoch): streams counting in the
		// old one must learn of it, however the feed itself fared. They hold this event meanwhile:
		// a doubt, resynced at once while both connections are up (else once they are back).
		if (last && epoch !== last.epoch) doubt();
		for (const handlers of listeners) handlers.onEvent(event);
	}

	async function openSubscriber(): Promise<RedisSubscriber> {
		await ready();
		const sub = client.duplicate();
		// Only while it is the feed: a connection being closed or given up on is nobody's doubt.
		sub.on('error', () => {
			if (listening === sub) doubt();
		});
		sub.on('ready', () => {
			if (listening === sub) settle();
		});
		const onMessage = (message: string) => {
			let event: StoredEvent;
			try {
				event = JSON.parse(text(message)) as StoredEvent;
			} catch {
				return; // not ours: someone else published on the channel
			}
			onFeedEvent(event);
		};
		let timer: ReturnType<typeof setTimeout> | undefined;
		try {
			await Promise.race([
				(async () => {
					await sub.connect();
					await sub.subscribe(`${prefix}live`, onMessage);
					// The epoch listened in, so that the first event of another one is noticed.
					const [epoch] = await meta();
					feed ??= { epoch, seq: 0 };
				})(),
				new Promise<never>((_, reject) => {
					timer = setTimeout(
						reject,
						timeoutMs,
						new Error(`no subscription within ${timeoutMs} ms`),
					);
				}),
			]);
		} catch (error) {
			sub.destroy();
			throw unreachable(error);
		} finally {
			clearTimeout(timer);
		}
		listening = sub;
		client.on('error', doubt);
		client.on('ready', settle);
		return sub;
	}

	/** Whether `promise` resolved within `timeoutMs`: closing waits no longer than a call would. */
	async function settlesWithin(promise: Promise<unknown>): Promise<boolean> {
		let timer: ReturnType<typeof setTimeout> | undefined;
		try {
			return await Promise.race([
				promise.then(
					() => true,
					() => false,
				),
				new Promise<boolean>((resolve) => {
					timer = setTimeout(resolve, timeoutMs, false);
				}),
			]);
		} finally {
			clearTimeout(timer);
		}
	}

	async function closeSubscriber(): Promise<void> {
		const pending = subscriber;
		subscriber = undefined;
		feed = undefined;
		const sub = await pending?.catch(() => undefined);
		if (!sub) return;
		if (listening === sub) {
			listening = undefined;
			inDoubt = false;
			client.off('error', doubt);
			client.off('ready', settle);
		}
		if (!sub.isReady) {
			sub.destroy();
			return;
		}
		// Unsubscribed first: Redis confirms it, where a closed socket is noticed whenever Redis
		// gets to it (another connection could still see this one counted as listening).
		const unsubscribed = await settlesWithin(sub.unsubscribe(`${prefix}live`));
		if (!(unsubscribed && (await settlesWithin(sub.close())))) sub.destroy();
	}

	let closing: Promise<void> | undefined;

	return {
		async epoch() {
			return (await meta())[0];
		},

		async head() {
			return (await meta())[1];
		},

		async append({ topic, data, session, idempotencyKey }: AppendInput): Promise<AppendedEvent> {
			const key =
				idempotencyKey === undefined ? '' : checkIdempotencyKey('redisHistory', idempotencyKey);
			const time = now();
			const scoped = session !== undefined;
			const [epoch, seq, first] = (await run(
				scripts.append,
				[
					topic,
					data,
					session ?? '',
					scoped ? '1' : '0',
					String(maxSessions),
					...wentBackArgs(),
					key,
				],
				time,
			)) as [unknown, unknown, unknown?];
			if (first !== undefined) {
				return { ...(JSON.parse(text(first)) as StoredEvent), duplicate: true };
			}
			saw(text(epoch), Number(seq));
			const event: StoredEvent = {
				seq: Number(seq),
				id: `${text(epoch)}-${Number(seq)}`,
				topic,
				data,
				time,
			};
			if (scoped) event.session = session;
			return event;
		},

		async read({ session, cursors, limit }: ReadQuery): Promise<ReadResult> {
			const args = [session, String(countArg(limit))];
			// A cursor with both `after` and `last` goes as two entries: the script reads a topic
			// once, from the lower start, and checks expiry on its `after` entries.
			for (const cursor of cursors) {
				if ('after' in cursor) args.push(cursor.topic, 'after', afterArg(cursor.after));
				if (cursor.last === undefined) continue;
				if (cursor.last === Number.POSITIVE_INFINITY) args.push(cursor.topic, 'last', 'all');
				else args.push(cursor.topic, 'last', String(countArg(cursor.last)));
			}
			const [epoch, head, expired, flat] = (await run(scripts.read, args)) as [
				unknown,
				unknown,
				unknown[],
				unknown[],
			];
			saw(text(epoch), Number(head));
			const events: StoredEvent[] = [];
			for (let i = 0; i + 4 < flat.length; i += 5) {
				const seq = Number(flat[i]);
				const event: StoredEvent = {
					seq,
					id: `${text(epoch)}-${seq}`,
					topic: text(flat[i + 1]),
					data: text(flat[i + 2]),
					time: Number(text(flat[i + 3])),
				};
				if (Number(flat[i + 4]) === 1) event.session = session;
				events.push(event);
			}
			return { events, expired: expired.map(text) };
		},

		async setCursorRecord(session: string, record: CursorRecord) {
			const json = JSON.stringify({
				connection: record.connection,
				client: record.client,
				topics: record.topics,
				added: record.added,
				from: record.from,
				to: record.to,
			});
			await run(scripts.setCursorRecord, [
				session,
				record.connection,
				record.to === null ? '0' : '1',
				json,
				String(maxSessions),
			]);
			trackOpen(session, record);
		},

		async cursorRecords(session: string) {
			const values = (await run(scripts.cursorRecords, [session])) as unknown[] | null;
			if (values === null || values === undefined) return null;
			return values
				.map((value) => JSON.parse(text(value)) as [number, number, CursorRecord])
				.sort((a, b) => a[0] - b[0])
				.map(([, , record]) => record);
		},

		async stats(): Promise<HistoryStats> {
			const [epoch, head, sessions, events] = (await run(scripts.stats, [])) as unknown[];
			saw(text(epoch), Number(head));
			return {
				epoch: text(epoch),
				head: Number(head),
				sessions: Number(sessions),
				events: Number(events),
			};
		},

		async listen(handlers: LiveHandlers) {
			await ready(); // even when the feed is already open: a caller must learn Redis is down
			listeners.add(handlers);
			if (inDoubt) handlers.onDoubt(); // joined a feed that is already missing events
			subscriber ??= openSubscriber();
			try {
				await subscriber;
			} catch (error) {
				listeners.delete(handlers);
				subscriber = undefined;
				throw error;
			}
			let stopped = false;
			return async () => {
				if (stopped) return;
				stopped = true;
				listeners.delete(handlers);
				if (listeners.size === 0) await closeSubscriber();
			};
		},

		close() {
			closing ??= (async () => {
				closed = true;
				if (heartbeat) clearInterval(heartbeat);
				heartbeat = undefined;
				openHere.clear();
				listeners.clear();
				await closeSubscriber();
				if (!own) {
					client.off('error', onError);
					client.off('ready', onReady);
					return;
				}
				// Our listeners stay: a client emits 'error' with no listener as a crash.
				// An owned client that never connected or is reconnecting has nothing to flush.
				// A close that waits on replies that never come (the connection died meanwhile) is
				// cut short: shutting down must not hang.
				if (own.isReady) {
					if (!(await settlesWithin(own.close()))) own.destroy();
				} else if (own.isOpen) own.destroy();
				await connecting?.catch(() => {});
			})();
			return closing;
		},
	};
}
