// `svelte-sse-kit/server/redis`: history and live fan-out shared by several processes through Redis.
export type { RedisClient, RedisSubscriber } from './client.js';
export { RedisHistoryError, type RedisHistoryErrorCode } from './errors.js';
export type { RedisHistoryOptions } from './options.js';
export { redisHistory } from './redis.js';
