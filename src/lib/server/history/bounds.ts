/**
 * The bounds both history stores take and the idempotency keys they accept, defaulted and checked
 * in one place, so `memoryHistory` and `redisHistory` accept the same values and refuse the
 * others with the same words.
 */
import { SSEConfigError } from '../errors.js';

export interface HistoryBounds {
	maxLength: number;
	maxAgeMs: number;
	sessionTtlMs: number;
	maxSessions: number;
}

export const DEFAULT_BOUNDS: Readonly<HistoryBounds> = {
	maxLength: 1000,
	maxAgeMs: 5 * 60_000,
	sessionTtlMs: 30 * 60_000,
	maxSessions: 10_000,
};

/** `value`, or a RangeError naming the store and the option when it is not a positive integer. */
export function positiveInteger(store: string, name: string, value: number): number {
	if (!(Number.isSafeInteger(value) && value > 0))
		throw new SSEConfigError(`${store}: ${name} must be a positive integer, got ${value}.`);
	return value;
}

/** `value`, or a RangeError when it is not a positive, finite number of milliseconds. */
export function positiveMs(store: string, name: string, value: number): number {
	if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
		throw new SSEConfigError(`${store}: ${name} must be a positive number of ms, got ${value}.`);
	return value;
}

/** The bounds of `options`, defaults filled in; throws a RangeError for a value out of range. */
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
