// `redisHistory()`: the `HistoryStore` for several processes behind a load balancer, assembled
// from its parts: the options (options.ts), the command connection and its script runner
// (connection.ts), the epoch check (epoch-check.ts), the calls on history (operations.ts), the
// heartbeat of sessions open here (open-sessions.ts) and the live feed (live-feed.ts). What is
// kept in Redis, and under which keys: scripts.ts.
import type { HistoryStore } from '../store.js';
import { RedisConnection } from './connection.js';
import { EpochCheck } from './epoch-check.js';
import { LiveFeed } from './live-feed.js';
import { OpenSessions } from './open-sessions.js';
import { RedisOperations } from './operations.js';
import { type RedisHistoryOptions, resolveOptions } from './options.js';

/**
 * History in Redis, shared by every process that uses the same Redis and `prefix`: one `seq`,
 * one epoch (kept in Redis, so a restart of the app keeps it and a flushed Redis gets a new one),
 * and a live feed over pub/sub. Same semantics and bounds as `memoryHistory`. Every write is one
 * Lua script, so it is atomic and its pub/sub message goes out in `seq` order; every key expires.
 *
 * Needs Redis ≥ 6.2 on one node (standalone or Sentinel; not Cluster), with a `noeviction`
 * policy: an evicted `epoch` or stream would silently lose history.
 *
 * ```ts
 * import { redisHistory } from 'svelte-sse-kit/server/redis';
 * const hub = createSSEHub({ topics, history: redisHistory({ url: env.REDIS_URL }) });
 * ```
 */
export function redisHistory(options: RedisHistoryOptions = {}): HistoryStore {
	const config = resolveOptions(options);
	const connection = new RedisConnection(config);
	const epochs = new EpochCheck(connection, config.keepEpochOnRestart);
	const openSessions = new OpenSessions(connection, config.sessionTtlMs);
	const operations = new RedisOperations(connection, epochs, openSessions, config);
	const feed = new LiveFeed(connection, epochs, config);
	let closing: Promise<void> | undefined;

	return {
		async epoch() {
			return (await epochs.meta())[0];
		},
		async head() {
			return (await epochs.meta())[1];
		},
		append: (input) => operations.append(input),
		read: (query) => operations.read(query),
		setCursorRecord: (session, record) => operations.setCursorRecord(session, record),
		cursorRecords: (session) => operations.cursorRecords(session),
		stats: () => operations.stats(),
		listen: (handlers) => feed.listen(handlers),
		close() {
			closing ??= (async () => {
				connection.refuseCalls();
				openSessions.stop();
				await feed.close();
				await connection.closeClient();
			})();
			return closing;
		},
	};
}
