// What `redisHistory` promises a deployment, seen from a client: real HTTP servers, real
// `eventsource` clients, a real Redis (the shared one, or a private redis-server that a test
// kills and restarts, with the persistence it needs).
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryStore } from '../../src/lib/server/history/index.js';
import { redisHistory } from '../../src/lib/server/history/redis/index.js';
import { createSSEHub, type SSEHub } from '../../src/lib/server/index.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';
import {
	keysOf,
	persistentRedis,
	REDIS_URL,
	sharedRedis,
	untilResolved,
} from '../helpers/redis-server.js';
import { openClient, type TestClient } from '../helpers/sse-client.js';

type Topics = { chat: { n: number } };

const redisRun = sharedRedis('sse-history');

// Redis servers and key prefixes are cleaned up by their helpers once these have run.
const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
	for (const close of closers.splice(0).reverse()) await close();
});

/** A hub on `store`, served over HTTP, closed (store included) after the test. */
async function serve(store: HistoryStore): Promise<{ hub: SSEHub<Topics>; origin: string }> {
	const hub = createSSEHub<Topics>({
		topics: ['chat'],
		history: store,
		closeOnSignals: false,
		onError: () => {}, // Redis is restarted on purpose here
	});
	const server: TestServer = await serveHandler(hub.handler());
	closers.push(async () => {
		await hub.close();
		await server.close();
		await store.close();
	});
	return { hub, origin: server.origin };
}

function track(client: TestClient): TestClient {
	closers.push(() => client.close());
	return client;
}

describe('redisHistory sessions', () => {
	it('keeps at most maxSessions under a flood of cookie-less connects', async () => {
		const prefix = redisRun.testPrefix();
		const { hub, origin } = await serve(redisHistory({ url: REDIS_URL, prefix, maxSessions: 10 }));
		for (let i = 0; i < 40; i++) {
			const client = track(openClient(`${origin}/?topics=chat`, ['chat'])); // no cookie: a new session
			await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
			client.close();
		}
		await hub.publish('chat', { n: 1 });
		expect((await hub.stats()).sessions).toBeLessThanOrEqual(10);
		expect(await redisRun.admin.zCard(`${prefix}sessions`)).toBeLessThanOrEqual(10);
		expect((await keysOf(redisRun.admin, `${prefix}r:`)).length).toBeLessThanOrEqual(10);
	});
});

describe('redisHistory restarts', () => {
	it('tells an open stream of a new epoch when Redis restarts from an older snapshot, and delivers what comes next', async () => {
		const server = await persistentRedis();
		const { hub, origin } = await serve(redisHistory({ url: server.url, prefix: 'app:' }));
		const client = track(openClient(`${origin}/?topics=chat`, ['chat']));
		await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
		for (let n = 1; n <= 5; n++) await hub.publish('chat', { n });
		await server.save(); // what stock Redis does every few minutes
		let last = '';
		for (let n = 6; n <= 10; n++) last = await hub.publish('chat', { n });
		await client.until((r) => r.some((e) => e.id === last), 'chat 10');
		const epoch = last.slice(0, last.lastIndexOf('-'));

		await server.restart(); // loads the snapshot: head 5, where 10 ids were handed out
		const next = await untilResolved(() => hub.publish('chat', { n: 11 }));
		expect(next).not.toBe(`${epoch}-6`); // an id the client already has, for another event
		await client.until((r) => r.some((e) => e.id === next), 'the event after the restart');
		const afterRestart = client.received.slice(client.received.findIndex((e) => e.id === last) + 1);
		expect(afterRestart.map((e) => e.type)).toEqual(['sse:gap', 'chat']);
		expect(afterRestart[0]?.data).toEqual({ reason: 'epoch', topics: ['chat'] });
		expect(afterRestart[1]).toEqual({ type: 'chat', id: next, data: { n: 11 } });
	});
});
