// Entry point safe for the browser. Server code lives in 'svelte-sse-kit/server'.
export type { SSEMessage, TopicMap } from './server/produce-sse.js';
export type { GapReason } from './server/replay.js';
