/**
 * The bounds both history stores take, defaulted and checked in one place, so `memoryHistory`
 * and `redisHistory` accept the same values and refuse the others with the same words.
 */

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
		throw new RangeError(`${store}: ${name} must be a positive integer, got ${value}.`);
	return value;
}

/** `value`, or a RangeError when it is not a positive, finite number of milliseconds. */
export function positiveMs(store: string, name: string, value: number): number {
	if (!(typeof value === 'number' && value > 0 && Number.isFinite(value)))
		throw new RangeError(`${store}: ${name} must be a positive number of ms, got ${value}.`);
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
