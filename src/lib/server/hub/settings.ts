// The hub's options read once, at `createSSEHub`: the declared topics checked (a mistake shows at
// startup, not at the first request), the limits given their defaults, and the stream's timings
// taken from `stream` before the deprecated fields of `limits`.
import { SSEConfigError } from '../errors.js';
import type { TopicMap } from '../transport/index.js';
import { topicNameProblem } from '../wire/index.js';
import type { SSEHubOptions } from './types.js';

export interface HubSettings {
	/** The topics this hub serves; requests and publishes for any other are refused. */
	declared: ReadonlySet<string>;
	maxTopics: number;
	maxConnectionsPerSession: number;
	/** The `Retry-After` of a 429 or a 503, in seconds. */
	retryAfterSeconds: number;
	/** What every `HubStream`'s connection is opened with (`undefined`: the transport's default). */
	keepAliveMs: number | undefined;
	retryMs: number | undefined;
	maxBufferedBytes: number | undefined;
	/** Events read from history per page of a replay (`undefined`: the replay's default). */
	replayPageSize: number | undefined;
	onError: (error: unknown) => void;
}

/** The declared topics, each one a name the protocol accepts; at least one. */
function declaredTopics(topics: readonly string[]): ReadonlySet<string> {
	const declared = new Set<string>(topics);
	for (const topic of declared) {
		const problem = topicNameProblem(topic);
		if (problem)
			throw new SSEConfigError(
				`createSSEHub: topic ${JSON.stringify(topic)} is invalid: ${problem}.`,
			);
	}
	if (declared.size === 0) throw new SSEConfigError('createSSEHub: declare at least one topic.');
	return declared;
}

export function hubSettings<Topics extends TopicMap>(options: SSEHubOptions<Topics>): HubSettings {
	const declared = declaredTopics(options.topics);
	const limits = options.limits ?? {};
	const stream = options.stream ?? {};
	return {
		declared,
		maxTopics: limits.maxTopics ?? 32,
		maxConnectionsPerSession: limits.maxConnectionsPerSession ?? 32,
		retryAfterSeconds: limits.retryAfterSeconds ?? 5,
		// `limits` held the stream's timings before `stream` existed: still read when `stream` is silent.
		keepAliveMs: stream.keepAliveMs ?? limits.keepAliveMs,
		retryMs: stream.retryMs ?? limits.retryMs,
		maxBufferedBytes: limits.maxBufferedBytes,
		replayPageSize: stream.replayPageSize ?? limits.replayPageSize,
		onError: options.onError ?? ((error) => console.error('[svelte-sse-kit]', error)),
	};
}
