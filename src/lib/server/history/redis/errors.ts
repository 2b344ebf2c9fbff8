// The error every call of the Redis store rejects with when Redis does not serve it.

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
