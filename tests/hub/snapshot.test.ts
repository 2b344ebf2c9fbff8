/**
 * Render on the server, then resume live: `hub.snapshot` in a `load`, the stream started from its
 * `lastEventId`, over real HTTP with the real `eventsource` client, on memory and on Redis. Also
 * what a brand-new client gets (`initialHistory`) against a topic added later (`newTopicHistory`).
 */
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { SSEClient } from '../../src/lib/client/index.js';
import { redisHistory } from '../../src/lib/server/history/redis/index.js';
import {
	type HistoryStore,
	memoryHistory,
	SSEHubError,
	type SSEHubOptions,
} from '../../src/lib/server/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { REDIS_URL, sharedRedis } from '../helpers/redis-server.js';
import { dataEvents, type Received } from '../helpers/sse-client.js';

type Topics = { chat: { n: number }; news: { n: number } };

const fixture = hubFixture<Topics>(['chat', 'news']);
const redis = sharedRedis('snapshot');
const stores: HistoryStore[] = [];
afterEach(async () => {
	await fixture.stop();
	for (const store of stores.splice(0)) await store.close();
});

const stores_ = {
	memory: (maxLength?: number) => memoryHistory({ maxLength }),
	redis: (maxLength?: number) =>
		redisHistory({ url: REDIS_URL, prefix: redis.newPrefix(), maxLength }),
};

const numbers = (received: Received[], topic: keyof Topics) =>
	dataEvents(received, topic).map((r) => (r.data as { n: number }).n);
const ready = (received: Received[]) => received.some((r) => r.type === 'sse:ready');
/** The session is named in the URL (`?as=`), so a test can snapshot the stream's own session. */
const bySession: SSEHubOptions<Topics>['session'] = (event) => event.url.searchParams.get('as');
const CLIENT = 'snapshot-test-client';

describe.each(Object.keys(stores_) as (keyof typeof stores_)[])('on %s history', (kind) => {
	async function start(options: Partial<SSEHubOptions<Topics>> = {}, maxLength?: number) {
		const history = stores_[kind](maxLength);
		stores.push(history);
		return fixture.start({ history, session: bySession, ...options });
	}

	it('a stream started from a snapshot gets what came after it once, and nothing of the snapshot', async () => {
		const { hub, origin } = await start();
		for (let n = 1; n <= 5; n++) await hub.publish('chat', { n });
		await hub.publish('chat', { n: 100 }, { session: 'alice' });
		await hub.publish('chat', { n: 200 }, { session: 'bob' }); // another session's: never seen
		const { events, lastEventId } = await hub.snapshot(['chat'], { session: 'alice', last: 3 });
		expect(events.map((e) => [e.topic, e.data.n])).toEqual([
			['chat', 4],
			['chat', 5],
			['chat', 100],
		]);
		expect(events.every((e) => /^[A-Za-z0-9_]+-\d+$/.test(e.id))).toBe(true);
		// Between the load and the stream opening: one broadcast, one for alice.
		await hub.publish('chat', { n: 6 });
		await hub.publish('chat', { n: 101 }, { session: 'alice' });
		const query = `topics=chat&as=alice&client=${CLIENT}&had=chat&lastEventId=${lastEventId}`;
		const client = fixture.open(`${origin}/?${query}`);
		await client.until(ready, 'ready');
		await hub.publish('chat', { n: 7 });
		await client.until((r) => numbers(r, 'chat').includes(7), 'chat 7');
		expect(numbers(client.received, 'chat')).toEqual([6, 101, 7]);
		expect(client.received.find((r) => r.type === 'sse:ready')?.data).toMatchObject({
			replayed: 2,
		});
	});

	it('SSEClient with lastEventID (share: false): each event once, none of the snapshot', async () => {
		const { hub, origin } = await start();
		for (let n = 1; n <= 5; n++) await hub.publish('chat', { n });
		const { events, lastEventId } = await hub.snapshot(['chat'], { session: 'alice', last: 2 });
		expect(events.map((e) => e.data.n)).toEqual([4, 5]);
		await hub.publish('chat', { n: 6 });
		const delivered: number[] = [];
		const client = new SSEClient<Topics>(`${origin}/?as=alice`, {
			EventSource,
			share: false,
			autoConnect: false,
			topics: { chat: (m) => delivered.push(m.n) },
			lastEventID: lastEventId,
		});
		client.connect();
		try {
			expect(client.lastEventID).toBe(lastEventId);
			await expect.poll(() => delivered).toEqual([6]);
			await expect.poll(() => client.replaying).toBe(false);
			await hub.publish('chat', { n: 7 });
			await expect.poll(() => delivered).toEqual([6, 7]);
		} finally {
			client.close();
		}
	});

	it('a snapshot position older than what is retained gives sse:gap expired on connect', async () => {
		const { hub, origin } = await start({}, 5);
		await hub.publish('chat', { n: 1 });
		const { lastEventId } = await hub.snapshot(['chat'], { last: 1 });
		for (let n = 2; n <= 12; n++) await hub.publish('chat', { n });
		const query = `topics=chat&as=alice&had=chat&lastEventId=${lastEventId}`;
		const client = fixture.open(`${origin}/?${query}`);
		await client.until(ready, 'ready');
		expect(client.received[0]).toMatchObject({
			type: 'sse:gap',
			data: { reason: 'expired', topics: ['chat'] },
		});
		expect(numbers(client.received, 'chat')).toEqual([8, 9, 10, 11, 12]);
	});

	it('a brand-new client gets the last 10 of each topic; a topic added later, all it retains', async () => {
		const { hub, origin } = await start();
		for (let n = 1; n <= 15; n++) await hub.publish('chat', { n });
		const fresh = fixture.open(`${origin}/?topics=chat&as=alice&client=${CLIENT}`);
		await fresh.until(ready, 'ready');
		expect(numbers(fresh.received, 'chat')).toEqual([6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
		const position = await hub.publish('chat', { n: 16 }); // live: past the stream's start
		await fresh.until((r) => numbers(r, 'chat').includes(16), 'chat 16');
		fresh.close();
		await expect.poll(async () => (await hub.stats()).connections).toBe(0);
		for (let n = 1; n <= 15; n++) await hub.publish('news', { n });
		const query = `topics=chat&topics=news&as=alice&client=${CLIENT}&lastEventId=${position}`;
		const added = fixture.open(`${origin}/?${query}`);
		await added.until(ready, 'ready');
		expect(numbers(added.received, 'chat')).toEqual([]);
		expect(numbers(added.received, 'news')).toHaveLength(15);
	});

	it('initialHistory per topic: a topic named gets its own, one not named the default', async () => {
		const { hub, origin } = await start({ initialHistory: { news: 'none' } });
		for (let n = 1; n <= 12; n++) {
			await hub.publish('chat', { n });
			await hub.publish('news', { n });
		}
		const client = fixture.open(`${origin}/?topics=chat&topics=news&as=alice`);
		await client.until(ready, 'ready');
		expect(numbers(client.received, 'news')).toEqual([]);
		expect(numbers(client.received, 'chat')).toHaveLength(10);
	});
});

describe('hub.snapshot arguments', () => {
	it('refuses an unknown topic, no topic, and a bad last with an SSEHubError', async () => {
		const { hub } = await fixture.start();
		const refusal = (call: () => Promise<unknown>) =>
			call().then(
				() => null,
				(e: unknown) => e,
			);
		// @ts-expect-error: not a topic of this hub
		const unknown = await refusal(() => hub.snapshot(['nope']));
		expect(unknown).toBeInstanceOf(SSEHubError);
		expect(unknown).toMatchObject({ code: 'unknown_topic', details: { topics: ['nope'] } });
		expect(await refusal(() => hub.snapshot([]))).toMatchObject({ code: 'invalid_snapshot' });
		for (const last of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
			expect(await refusal(() => hub.snapshot(['chat'], { last }))).toMatchObject({
				code: 'invalid_snapshot',
			});
		}
	});

	it('last: 0 gives the position only; an empty history gives position 0 of its epoch', async () => {
		const { hub } = await fixture.start();
		const empty = await hub.snapshot(['chat']);
		expect(empty.events).toEqual([]);
		expect(empty.lastEventId).toBe(`${(await hub.stats()).epoch}-0`);
		const id = await hub.publish('news', { n: 1 });
		expect(await hub.snapshot(['chat'], { last: 0 })).toEqual({ events: [], lastEventId: id });
	});
});
