// `svelte-sse-kit/server/redis`: history and live fan-out shared by several processes through Redis.
export {
	type RedisClient,
	RedisHistoryError,
	type RedisHistoryErrorCode,
	type RedisHistoryOptions,
	type RedisSubscriber,
	redisHistory,
} from './redis.js';
