/**
 * `hub.publish(topic, data, { idempotencyKey })`: a producer that retries (a webhook delivered
 * twice, a publish that timed out although Redis ran it) stores and delivers its event once. Real
 * HTTP, real `eventsource` clients, on memory and on Redis history.
 */
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryStore } from '../../src/lib/server/history/index.js';
import { redisHistory } from '../../src/lib/server/history/redis/index.js';
import {
	createSSEHub,
	memoryHistory,
	type SSEHub,
	SSEHubError,
} from '../../src/lib/server/index.js';
import { serveHandler } from '../helpers/hub-server.js';
import {
	freePort,
	REDIS_URL,
	sharedRedis,
	startRedis,
	stopRedis,
} from '../helpers/redis-server.js';
import { dataEvents, openClient, type TestClient } from '../helpers/sse-client.js';

type Topics = { orders: { id: string; n: number } };

const redisRun = sharedRedis('sse-once');

const closers: Array<() => Promise<void> | void> = [];
afterEach(async () => {
	for (const close of closers.splice(0).reverse()) await close();
});

/** A hub on `history` served over HTTP, and a client of it that is ready for live events. */
async function hubWithClient(
	history: HistoryStore,
): Promise<{ hub: SSEHub<Topics>; client: TestClient }> {
	const hub = createSSEHub<Topics>({
		topics: ['orders'],
		history,
		closeOnSignals: false,
		onError: () => {},
	});
	const server = await serveHandler(hub.handler());
	closers.push(async () => {
		await hub.close();
		await server.close();
		await history.close();
	});
	const client = openClient(`${server.origin}/?topics=orders`, ['orders']);
	closers.push(() => client.close());
	await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
	return { hub, client };
}

/**
 * Publishes a last event without a key and waits for it (whatever came before it has come), then
 * returns the orders received before it.
 */
async function ordersBefore(hub: SSEHub<Topics>, client: TestClient) {
	const last = await hub.publish('orders', { id: 'last', n: 0 });
	await client.until((r) => r.some((e) => e.id === last), 'the last event');
	return dataEvents(client.received, 'orders').filter((e) => e.id !== last);
}

const stores: Array<[string, () => HistoryStore]> = [
	['memoryHistory', () => memoryHistory()],
	[
		'redisHistory',
		() => {
			return redisHistory({ url: REDIS_URL, prefix: redisRun.testPrefix() });
		},
	],
];

for (const [name, makeStore] of stores) {
	describe(`publish with an idempotency key (${name})`, () => {
		it('delivers a retried publish once and resolves both to the first id', async () => {
			const { hub, client } = await hubWithClient(makeStore());
			const order = { id: 'ord_1', n: 1 };
			const first = await hub.publish('orders', order, { idempotencyKey: 'webhook-123' });
			const retried = await hub.publish('orders', order, { idempotencyKey: 'webhook-123' });
			const other = await hub.publish(
				'orders',
				{ id: 'ord_2', n: 2 },
				{ idempotencyKey: 'webhook-124' },
			);
			expect(retried).toBe(first);
			expect(other).not.toBe(first);
			expect(await ordersBefore(hub, client)).toEqual([
				{ type: 'orders', id: first, data: order },
				{ type: 'orders', id: other, data: { id: 'ord_2', n: 2 } },
			]);
			expect((await hub.stats()).head).toBe(3);
		});

		it('refuses a key that is empty or too long, before anything is stored', async () => {
			const { hub } = await hubWithClient(makeStore());
			for (const idempotencyKey of ['', 'x'.repeat(201)]) {
				const error = await hub
					.publish('orders', { id: 'a', n: 1 }, { idempotencyKey })
					.catch((reason: unknown) => reason);
				expect(error).toBeInstanceOf(SSEHubError);
				expect(error).toMatchObject({ code: 'invalid_idempotency_key', status: 400 });
				expect((error as Error).message).toMatch(/^publish: idempotencyKey must /);
			}
			expect((await hub.stats()).head).toBe(0);
		});
	});
}

describe('publish with an idempotency key, when Redis answers too late', () => {
	it('stores once when a publish that timed out is retried, although Redis ran the first', async () => {
		const port = await freePort();
		const server = await startRedis(port);
		closers.push(() => stopRedis(server));
		const url = `redis://127.0.0.1:${port}`;
		const { hub, client } = await hubWithClient(redisHistory({ url, timeoutMs: 200 }));
		const pauser = createClient({ url });
		await pauser.connect();
		closers.push(() => pauser.close());

		// Redis holds every script for 600 ms: the publish gives up at 200 ms, the script runs later.
		await pauser.sendCommand(['CLIENT', 'PAUSE', '600', 'WRITE']);
		const order = { id: 'ord_9', n: 9 };
		const timedOut = await hub
			.publish('orders', order, { idempotencyKey: 'webhook-9' })
			.catch((reason: unknown) => reason);
		expect(timedOut).toMatchObject({ code: 'history_unavailable' });
		// The producer retries until it gets an answer, as a webhook sender would.
		let id: string | undefined;
		for (let attempt = 0; id === undefined && attempt < 50; attempt++) {
			id = await hub
				.publish('orders', order, { idempotencyKey: 'webhook-9' })
				.catch(() => undefined);
		}
		expect(id).toBe(`${(await hub.stats()).epoch}-1`);
		expect(await ordersBefore(hub, client)).toEqual([{ type: 'orders', id, data: order }]);
		expect((await hub.stats()).head).toBe(2);
	});
});
