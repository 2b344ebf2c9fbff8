import { createSSEHub, memoryHistory } from 'svelte-sse-kit/server';
import { DEMO_TOPICS, type DemoTopics } from '../topics.js';
import { config } from './config.server.js';

/** The demo's one hub: every endpoint publishes through it, `/api/events` streams from it. */
export const hub = createSSEHub<DemoTopics>({
	topics: DEMO_TOPICS,
	history: memoryHistory({ maxLength: config.historyMaxLength, maxAgeMs: config.historyMaxAgeMs }),
});
