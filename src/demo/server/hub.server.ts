// The demo's one hub, on memory history, or Redis when REDIS_URL is set.
import { createSSEHub, memoryHistory } from 'svelte-sse-kit/server';
import { redisHistory } from 'svelte-sse-kit/server/redis';
import { topics } from '../topics.js';
import { config } from './config.server.js';

/**
 * History in this process's memory by default; in Redis when `REDIS_URL` is set, so several
 * processes behind a load balancer share it and each one's events reach every one's clients.
 */
const history = config.redisUrl
	? redisHistory({
			url: config.redisUrl,
			prefix: 'sse-demo:',
			maxLength: config.historyMaxLength,
			maxAgeMs: config.historyMaxAgeMs,
		})
	: memoryHistory({ maxLength: config.historyMaxLength, maxAgeMs: config.historyMaxAgeMs });

/**
 * The demo's one hub: every endpoint publishes through it, `/api/events` streams from it. Its
 * topics, their types and the schemas `publish` checks come from the definition the pages share.
 */
export const hub = createSSEHub({ topics, history });
