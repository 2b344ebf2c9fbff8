// createSSEHub: the hub's parts made and put together. The flow from a request to an open stream
// is in connect.ts, the path from `publish` to every stream in publish.ts.
import { currentStore, memoryHistory } from '../history/index.js';
import { ReplayWriter } from '../replay/index.js';
import { closeOnShutdown, type TopicMapOf } from '../transport/index.js';
import { sessionOf } from './access.js';
import { type ConnectParts, handleStreamRequest } from './connect.js';
import { HubCounters } from './counters.js';
import { FanOut } from './fan-out.js';
import { SharedFeed } from './feed.js';
import { OpenStreams } from './open-streams.js';
import { type PublishParts, publishEvent } from './publish.js';
import { currentRequest } from './request-scope.js';
import { sessionHandle } from './session-handle.js';
import { hubSettings } from './settings.js';
import { readSnapshot } from './snapshot.js';
import { HubTelemetry } from './telemetry.js';
import type { SSEHub, SSEHubOptions } from './types.js';

/**
 * One endpoint for many typed topics, with history so that a client that drops off gets
 * exactly what it missed.
 *
 * ```ts
 * // src/lib/server/events.ts
 * export const hub = createSSEHub<{ chat: { text: string } }>({ topics: ['chat'] });
 * // src/routes/api/events/+server.ts
 * export const GET = hub.handler();
 * // anywhere on the server
 * await hub.publish('chat', { text: 'hello' });
 * ```
 */
export function createSSEHub<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
): SSEHub<Topics> {
	const settings = hubSettings(options);
	const { onError } = settings;
	const ownsStore = !options.history;
	const store = options.history ? currentStore(options.history) : memoryHistory();

	const streams = new OpenStreams();
	let closed = false;
	const isClosed = () => closed;
	const stopShutdownHook =
		options.closeOnSignals === false
			? () => {}
			: closeOnShutdown(
					() => streams.closeAll(),
					// The server has closed: the store's connections (Redis) would keep the process up.
					() => {
						close()
							.then(() => (ownsStore ? undefined : store.close()))
							.catch(onError);
					},
				);
	const counters = new HubCounters();
	const onGap = counters.gap.bind(counters);
	const telemetry = new HubTelemetry(options.telemetry ?? true, {
		counters,
		connections: () => streams.size,
		history: () => store.stats(),
	});
	const replay = new ReplayWriter(store, settings.replayPageSize, onGap);
	const fanOut = new FanOut(streams);
	const feed = new SharedFeed({ store, streams, replay, onEvent: fanOut.deliver, onGap, onError });
	const connecting: ConnectParts<Topics> = {
		options,
		settings,
		store,
		streams,
		feed,
		replay,
		counters,
		telemetry,
		isClosed,
	};
	const publishing: PublishParts<Topics> = {
		options,
		settings,
		store,
		deliver: fanOut.deliver,
		counters,
		isClosed,
	};

	async function close(): Promise<void> {
		if (closed) return;
		closed = true;
		stopShutdownHook();
		telemetry.close();
		streams.closeAll();
		await feed.stop();
		if (ownsStore) await store.close();
	}

	return {
		handler: () => (event) => handleStreamRequest(connecting, event),
		handle: sessionHandle(options),
		publish: (topic, data, publishOptions) => publishEvent(publishing, topic, data, publishOptions),
		snapshot: (topics, snapshotOptions) => readSnapshot(store, settings, topics, snapshotOptions),
		sessionOf: async (event) => sessionOf(options, event ?? currentRequest()),
		disconnect: (session) => streams.closeSession(session),
		async stats() {
			const history = await store.stats();
			return {
				connections: streams.size,
				sessions: history.sessions,
				events: history.events,
				epoch: history.epoch,
				head: history.head,
				...counters.snapshot(),
			};
		},
		close,
	};
}
