// The demo's knobs, from the environment (see the README's table).
import { env } from '$env/dynamic/private';

function number(name: string, fallback: number): number {
	const raw = env[name];
	if (raw === undefined || raw === '') return fallback;
	const value = Number(raw);
	if (!Number.isFinite(value) || value <= 0) {
		throw new Error(`${name} must be a positive number of milliseconds or events, got "${raw}".`);
	}
	return value;
}

/** The demo's knobs, from the environment (documented in the README). */
export const config = {
	/** Redis for shared history and fan-out across processes; memory when unset. */
	redisUrl: env.REDIS_URL || null,
	/** Events kept per session buffer and per topic log. */
	historyMaxLength: number('SSE_HISTORY_MAX_LENGTH', 1000),
	/** Oldest event kept, in ms. */
	historyMaxAgeMs: number('SSE_HISTORY_MAX_AGE_MS', 5 * 60_000),
	/** A notification every … ms. */
	notifyEveryMs: number('DEMO_NOTIFY_MS', 3000),
	/** A log line every … ms. */
	logEveryMs: number('DEMO_LOG_MS', 2000),
	/** Pause between two story lines, in ms. */
	storyLineMs: number('DEMO_STORY_LINE_MS', 1200),
};
