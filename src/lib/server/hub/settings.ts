// The hub's options read once, at `createSSEHub`: the topics and their schemas checked (a mistake
// shows at startup, not at the first request), the limits given their defaults, and the stream's
// timings taken from `stream` before the deprecated fields of `limits`.
import { SSEConfigError } from '../errors.js';
import type { TopicMapOf } from '../transport/index.js';
import { DEFAULT_RETRY_MS } from '../transport/index.js';
import type { SessionCookieOptions } from './request.js';
import { type HubTopics, hubTopics } from './topics.js';
import type { SSEHubOptions } from './types.js';

export interface HubSettings extends HubTopics {
	maxTopics: number;
	maxConnectionsPerSession: number;
	/** The `Retry-After` of a 429 or a 503, in seconds. */
	retryAfterSeconds: number;
	/** What every `HubStream`'s connection is opened with (`undefined`: the transport's default). */
	keepAliveMs: number | undefined;
	retryMs: number;
	/** Up to this is added to `retryMs` per stream (see `HubStreamOptions.retryJitterMs`). */
	retryJitterMs: number;
	maxBufferedBytes: number | undefined;
	/** Events read from history per page of a replay (`undefined`: the replay's default). */
	replayPageSize: number | undefined;
	onError: (error: unknown) => void;
}

function nonNegativeMs(name: string, value: number): number {
	if (!Number.isInteger(value) || value < 0) {
		throw new SSEConfigError(
			`createSSEHub: ${name} must be a whole number of ms, 0 or more, got ${value}.`,
		);
	}
	return value;
}

/** The `retry:` hint of one stream: the base plus a random part, in 50 ms steps (few distinct lines). */
export function retryHint(settings: HubSettings): number {
	const steps = Math.floor(settings.retryJitterMs / 50);
	return settings.retryMs + 50 * Math.floor(Math.random() * (steps + 1));
}

/** A history choice (`newTopicHistory`, `initialHistory`): 'all', 'none' or a whole number. */
function checkHistory(name: string, value: unknown): void {
	if (value === undefined || value === 'all' || value === 'none') return;
	if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return;
	throw new SSEConfigError(
		`createSSEHub: ${name} must be 'all', 'none' or a whole number of events, got ${JSON.stringify(value)}.`,
	);
}

/** `initialHistory`: one choice, or one per declared topic. */
function checkInitialHistory(value: unknown, declared: ReadonlySet<string>): void {
	if (typeof value !== 'object' || value === null) {
		checkHistory('initialHistory', value);
		return;
	}
	for (const [topic, choice] of Object.entries(value)) {
		if (!declared.has(topic)) {
			throw new SSEConfigError(
				`createSSEHub: initialHistory names ${JSON.stringify(topic)}, which is not a declared topic.`,
			);
		}
		checkHistory(`initialHistory.${topic}`, choice);
	}
}

/** A cookie name is an RFC 6265 token: the session cookie's line is written as is. */
const COOKIE_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function checkCookie({ name, maxAgeSeconds }: SessionCookieOptions = {}): void {
	if (name !== undefined && !COOKIE_NAME.test(name)) {
		throw new SSEConfigError(
			`createSSEHub: cookie.name must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~), got ${JSON.stringify(name)}.`,
		);
	}
	if (maxAgeSeconds !== undefined && !(Number.isSafeInteger(maxAgeSeconds) && maxAgeSeconds >= 0)) {
		throw new SSEConfigError(
			`createSSEHub: cookie.maxAgeSeconds must be a whole number of seconds, 0 or more, got ${maxAgeSeconds}.`,
		);
	}
}

export function hubSettings<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
): HubSettings {
	const topics = hubTopics(options);
	checkCookie(options.cookie);
	checkHistory('newTopicHistory', options.newTopicHistory);
	checkInitialHistory(options.initialHistory, topics.declared);
	const limits = options.limits ?? {};
	const stream = options.stream ?? {};
	const retryMs = nonNegativeMs(
		'stream.retryMs',
		stream.retryMs ?? limits.retryMs ?? DEFAULT_RETRY_MS,
	);
	return {
		...topics,
		maxTopics: limits.maxTopics ?? 32,
		maxConnectionsPerSession: limits.maxConnectionsPerSession ?? 32,
		retryAfterSeconds: limits.retryAfterSeconds ?? 5,
		// `limits` held the stream's timings before `stream` existed: still read when `stream` is silent.
		keepAliveMs: stream.keepAliveMs ?? limits.keepAliveMs,
		retryMs,
		retryJitterMs: nonNegativeMs('stream.retryJitterMs', stream.retryJitterMs ?? retryMs),
		maxBufferedBytes: limits.maxBufferedBytes,
		replayPageSize: stream.replayPageSize ?? limits.replayPageSize,
		onError: options.onError ?? ((error) => console.error('[svelte-sse-kit]', error)),
	};
}
