/**
 * svelte-sse-kit as the bench deploys it: `createSSEHub` with the default in-memory history and
 * cookie sessions, `GET = hub.handler()`, publish = `hub.publish` K times in one tick. Given the
 * library's server entry, so that the in-process server (the packaged output, imported by path)
 * and the built app (`svelte-sse-kit/server`, bundled by Vite) run the same code.
 */
import { envInt, payload } from '../servers/common.mjs';

export function svelteSseKit({ createSSEHub, memoryHistory }) {
	const hub = createSSEHub({
		topics: ['tick'],
		history: memoryHistory({
			maxLength: envInt('BENCH_HISTORY', 1000), // the default, unless the replay phase asks for more
			// Every bench connection is its own session (own cookie); the default cap of 10,000
			// sessions would start forgetting them at N = 10,000, so it is raised as a deployment of
			// that size would. The session-cap phase lowers it to measure what happens past it.
			maxSessions: envInt('BENCH_MAX_SESSIONS', 100_000),
		}),
		// A client with no position gets the whole retained history, as raw resends everything after
		// id 0: what the replay phase measures (the default, 10 events a topic, would time it out).
		// No other phase has history when a client connects without a position.
		initialHistory: 'all',
		onError: (error) => console.error('[svelte-sse-kit]', error),
	});
	return {
		GET: hub.handler(),
		async publish(count, size) {
			// K publishes in one tick, as K independent callers would; the hub may coalesce them.
			const pending = [];
			for (let i = 0; i < count; i++) pending.push(hub.publish('tick', payload(size)));
			const ids = await Promise.all(pending);
			return { first: ids[0], last: ids.at(-1) };
		},
		connections: async () => (await hub.stats()).connections,
	};
}
