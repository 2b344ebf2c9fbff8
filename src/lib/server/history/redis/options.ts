// The options of `redisHistory`, and their check: every mistake is an `SSEConfigError` thrown as
// the store is made, before it connects.
import { SSEConfigError } from '../../errors.js';
import { type HistoryBounds, positiveMs, resolveBounds } from '../bounds.js';
import type { RedisClient } from './client.js';

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

/** The options with their defaults filled in and checked. */
export interface RedisStoreConfig extends HistoryBounds {
	timeoutMs: number;
	prefix: string;
	now: () => number;
	keepEpochOnRestart: boolean;
	url: string;
	/** The client given, or `undefined` when the store makes its own from `url`. */
	client: RedisClient | undefined;
}

/** `options` with their defaults; throws an `SSEConfigError` for one that cannot work. */
export function resolveOptions(options: RedisHistoryOptions): RedisStoreConfig {
	const bounds = resolveBounds('redisHistory', options);
	const timeoutMs = positiveMs('redisHistory', 'timeoutMs', options.timeoutMs ?? 1000);
	const prefix = options.prefix ?? 'sse:';
	if (typeof prefix !== 'string' || prefix === '')
		throw new SSEConfigError('redisHistory: prefix must be a non-empty string, such as "sse:".');
	if (options.client && options.url !== undefined)
		throw new SSEConfigError('redisHistory: pass either `client` or `url`, not both.');
	return {
		...bounds,
		timeoutMs,
		prefix,
		now: options.now ?? Date.now,
		keepEpochOnRestart: options.keepEpochOnRestart === true,
		url: options.url ?? 'redis://127.0.0.1:6379',
		client: options.client,
	};
}
