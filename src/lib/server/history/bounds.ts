// The bounds both history stores take and the idempotency keys they accept, documented, defaulted
// and checked in one place, so `memoryHistory` and `redisHistory` accept the same values and refuse
// the others with the same words.
import { SSEConfigError } from '../errors.js';

/**
 * What a history store keeps, and for how long: the same four bounds for `memoryHistory` and
 * `redisHistory`, with the same defaults (`DEFAULT_BOUNDS`) and the same checks (`resolveBounds`).
 */
export interface HistoryBounds {
	/**
	 * Events kept per session and per broadcast topic (a ring buffer in memory, a stream in
	 * Redis); the oldest goes first.
	 * @default 1000
	 */
	maxLength: number;
	/**
	 * Events older than this are dropped, however few there are.
	 * @default 300000 (5 minutes)
	 */
	maxAgeMs: number;
	/**
	 * A session with no open connection and no activity for this long is forgotten. An open
	 * connection keeps its session alive (in Redis, while the process that holds it runs).
	 * @default 1800000 (30 minutes)
	 */
	sessionTtlMs: number;
	/**
	 * At most this many sessions are kept; past it the longest-idle one that has no connection
	 * open is forgotten, so clients that invent session ids (a flood of cookie-less connects)
	 * cannot grow memory or Redis without bound. Its own events are then gone, and a client that
	 * resumes it is told (`sse:gap` `expired`).
	 * @default 10000
	 */
	maxSessions: number;
}

export const DEFAULT_BOUNDS: Readonly<HistoryBounds> = {
	maxLength: 1000,
	maxAgeMs: 5 * 60_000,
	sessionTtlMs: 30 * 60_000,
	maxSessions: 10_000,
};

/** `value`, or an `SSEConfigError` naming the store and the option when it is not a positive integer. */
export function positiveInteger(store: string, name: string, value: number): number {
	if (!(Number.isSafeInteger(value) && value > 0))
		throw new SSEConfigError(`${store}: ${name} must be a positive integer, got ${value}.`);
	return value;
}

/** `value`, or an `SSEConfigError` when it is not a positive, finite number of milliseconds. */
export function positiveMs(store: string, name: string, value: number): number {
	if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
		throw new SSEConfigError(`${store}: ${name} must be a positive number of ms, got ${value}.`);
	return value;
}

/**
 * The bounds of `options`, defaults filled in; throws an `SSEConfigError` (a `RangeError`) for a
 * value out of range, as the store is made rather than at its first event.
 */
export function resolveBounds(store: string, options: Partial<HistoryBounds>): HistoryBounds {
	return {
		maxLength: positiveInteger(store, 'maxLength', options.maxLength ?? DEFAULT_BOUNDS.maxLength),
		maxAgeMs: positiveMs(store, 'maxAgeMs', options.maxAgeMs ?? DEFAULT_BOUNDS.maxAgeMs),
		sessionTtlMs: positiveMs(
			store,
			'sessionTtlMs',
			options.sessionTtlMs ?? DEFAULT_BOUNDS.sessionTtlMs,
		),
		maxSessions: positiveInteger(
			store,
			'maxSessions',
			options.maxSessions ?? DEFAULT_BOUNDS.maxSessions,
		),
	};
}

/** The longest idempotency key, in characters: room for any webhook's delivery id or a UUID. */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 200;

/** What is wrong with `key` as an idempotency key, or `undefined` when nothing is. */
export function idempotencyKeyProblem(key: unknown): string | undefined {
	if (typeof key !== 'string') return `must be a string, got ${typeof key}`;
	if (key === '') return 'must not be empty';
	if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH)
		return `must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, got ${key.length}`;
	return undefined;
}

/** `key`, or a TypeError naming the store when it cannot be an idempotency key. */
export function checkIdempotencyKey(store: string, key: unknown): string {
	const problem = idempotencyKeyProblem(key);
	if (problem) throw new TypeError(`${store}: idempotencyKey ${problem}.`);
	return key as string;
}
