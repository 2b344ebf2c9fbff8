// `redisHistory` when Redis goes back in time: restarted from an RDB snapshot older than its head
// (stock Redis saves one every few minutes), or its keys replaced while the store runs. Ids must
// never be handed out twice in one epoch: the store starts a new epoch, and its live feed tells
// the streams to catch up into it. Private redis-servers on free ports, with their data in a
// temporary directory.
import { afterEach, describe, expect, it } from 'vitest';
import type {
	HistoryStore,
	LiveHandlers,
	StoredEvent,
} from '../../src/lib/server/history/index.js';
import {
	type RedisHistoryOptions,
	redisHistory,
} from '../../src/lib/server/history/redis/index.js';
import { parseEventId } from '../../src/lib/server/wire/index.js';
import {
	keysOf,
	type PersistentRedis,
	persistentRedis,
	REDIS_URL,
	sharedRedis,
	untilResolved,
} from '../helpers/redis-server.js';

const redisRun = sharedRedis('sse-restart');

// Redis servers and key prefixes are cleaned up by their helpers once the stores are closed.
const stores: HistoryStore[] = [];
afterEach(async () => {
	for (const store of stores.splice(0)) await store.close();
});

function open(options: RedisHistoryOptions): HistoryStore {
	const store = redisHistory({ prefix: 'app:', ...options });
	stores.push(store);
	return store;
}

const epochOf = (event: StoredEvent) => parseEventId(event.id)?.epoch;

async function until(check: () => boolean | Promise<boolean>, what: string, ms = 10_000) {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** 5 events, a snapshot, 5 more: a restart now loads head 5 where the store had handed out 10. */
async function snapshotAtFive(server: PersistentRedis, store: HistoryStore): Promise<string> {
	for (let i = 1; i <= 5; i++) await store.append({ topic: 'a', data: String(i) });
	await server.save();
	let last: StoredEvent | undefined;
	for (let i = 6; i <= 10; i++) last = await store.append({ topic: 'a', data: String(i) });
	expect(last?.seq).toBe(10);
	return epochOf(last as StoredEvent) as string;
}

describe('redisHistory when Redis goes back in time', () => {
	it('starts a new epoch after Redis restarts from an older snapshot, even in a process that never saw the lost ids', async () => {
		const server = await persistentRedis();
		const before = open({ url: server.url });
		const epoch = await snapshotAtFive(server, before);
		await server.restart();

		const fresh = open({ url: server.url }); // a process started after the restart
		const event = await untilResolved(() => fresh.append({ topic: 'a', data: '"after"' }));
		expect(epochOf(event)).not.toBe(epoch);
		expect(event.seq).toBe(1);
		// The old lifetime is gone for everyone, not misread as this one.
		expect(await untilResolved(() => before.epoch())).toBe(epochOf(event));
		const { events } = await before.read({
			session: 's',
			cursors: [{ topic: 'a', after: 0 }],
			limit: 20,
		});
		expect(events).toEqual([event]);
	});

	it('keeps the epoch across a restart when told Redis loses nothing (AOF, appendfsync always)', async () => {
		const server = await persistentRedis(['--appendonly', 'yes', '--appendfsync', 'always']);
		const before = open({ url: server.url, keepEpochOnRestart: true });
		let last: StoredEvent | undefined;
		for (let i = 1; i <= 10; i++) last = await before.append({ topic: 'a', data: String(i) });
		await server.restart();
		const fresh = open({ url: server.url, keepEpochOnRestart: true });
		const event = await untilResolved(() => fresh.append({ topic: 'a', data: '"after"' }));
		expect(event.id).toBe(`${epochOf(last as StoredEvent)}-11`);
	});

	it('still starts a new epoch when its head is below an id this process has seen, even when told to keep it', async () => {
		const server = await persistentRedis();
		const store = open({ url: server.url, keepEpochOnRestart: true });
		const epoch = await snapshotAtFive(server, store);
		await server.restart();
		const event = await untilResolved(() => store.append({ topic: 'a', data: '"after"' }));
		expect(epochOf(event)).not.toBe(epoch);
		expect(event.seq).toBe(1);
	});

	it('retires the epoch when its live feed sees an id again, and tells its listeners to catch up', async () => {
		const server = await persistentRedis();
		const listening = open({ url: server.url, keepEpochOnRestart: true });
		const received: string[] = [];
		let resyncs = 0;
		const handlers: LiveHandlers = {
			onEvent: (event) => received.push(event.id),
			onDoubt() {},
			onResync: () => resyncs++,
		};
		await (listening.listen as NonNullable<HistoryStore['listen']>)(handlers);
		const epoch = await snapshotAtFive(server, listening);
		await until(() => received.length === 10, 'the feed to bring 10 events');
		await server.restart();
		await until(() => resyncs === 1, 'the resync after the restart');

		// A process that never saw 6..10 hands them out again: the listening one notices.
		const fresh = open({ url: server.url, keepEpochOnRestart: true });
		const reused = await untilResolved(() => fresh.append({ topic: 'a', data: '"reused"' }));
		expect(reused.id).toBe(`${epoch}-6`);
		await until(() => resyncs === 2, 'a resync for the retired epoch');
		const renewed = await listening.epoch();
		expect(renewed).not.toBe(epoch);
		const next = await fresh.append({ topic: 'a', data: '"next"' });
		expect(next.id).toBe(`${renewed}-1`);
		await until(() => received.includes(next.id), 'the first event of the new epoch');
		// The reused id never went out as live.
		expect(received.filter((id) => id === `${epoch}-6`)).toHaveLength(1);
	});
});

describe('redisHistory live feed', () => {
	it('tells its listeners to catch up when a new epoch begins while it stays connected', async () => {
		const prefix = redisRun.testPrefix();
		const listening = open({ url: REDIS_URL, prefix });
		const other = open({ url: REDIS_URL, prefix });
		const calls: string[] = [];
		await (listening.listen as NonNullable<HistoryStore['listen']>)({
			onEvent: (event) => calls.push(`event ${event.seq}`),
			onDoubt: () => calls.push('doubt'),
			onResync: () => calls.push('resync'),
		});
		for (let i = 0; i < 3; i++) await other.append({ topic: 'a', data: String(i) });
		await until(() => calls.length === 3, 'three events');
		await redisRun.admin.del(await keysOf(redisRun.admin, prefix)); // flushed: the next append starts a new epoch
		await other.append({ topic: 'a', data: '"new"' });
		await until(() => calls.length === 6, 'the resync and the event');
		// Streams counting in the old epoch hold the event until they caught up into the new one.
		expect(calls).toEqual(['event 1', 'event 2', 'event 3', 'doubt', 'resync', 'event 1']);
	});
});
