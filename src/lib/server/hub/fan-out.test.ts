// Live fan-out, through the hub's handler with each body read at the pace the test sets: a tick's
// events go out as one chunk per stream, shared by streams that get the same events; a tick mixing
// topics and sessions gives each stream exactly its own; more streams than one turn writes still
// get every tick once, in order.
import { afterEach, describe, expect, it } from 'vitest';
import { isReady, openHubStream } from '../../testing/hub-stream.js';
import { STREAMS_PER_TURN } from './fan-out.js';
import { createSSEHub } from './hub.js';
import type { SSEHub } from './types.js';

type Topics = { logs: { n: number } };
let hub: SSEHub<Topics> | undefined;

afterEach(async () => {
	await hub?.close();
	hub = undefined;
});

describe('live fan-out', () => {
	it('a burst published in one tick goes out as one chunk per connection, the same bytes for all', async () => {
		hub = createSSEHub<Topics>({ topics: ['logs'], closeOnSignals: false });
		const open = async () => {
			const client = await openHubStream(hub as SSEHub<Topics>, 'topics=logs');
			await client.readUntil(() => isReady(client));
			return client;
		};
		const [a, b] = [await open(), await open()];
		await Promise.all(Array.from({ length: 50 }, (_, n) => hub?.publish('logs', { n })));
		await a.pump();
		await b.pump();
		const [chunkA, chunkB] = [a.bytes.at(-1), b.bytes.at(-1)];
		const frames = new TextDecoder().decode(chunkA).match(/event: logs\n/g) ?? [];
		expect(frames).toHaveLength(50);
		expect(chunkB).toBe(chunkA); // encoded once, shared
		await a.cancel();
		await b.cancel();
	});

	it('a tick mixing topics and one session: every stream gets exactly its events, in order', async () => {
		type Mixed = { a: { n: number }; b: { n: number } };
		const mixed = createSSEHub<Mixed>({
			topics: ['a', 'b'],
			session: (event) => event.request.headers.get('x-session'),
			closeOnSignals: false,
		});
		const open = async (session: string, topics: string) => {
			const client = await openHubStream(mixed, topics, { 'x-session': session });
			await client.readUntil(() => isReady(client));
			return client;
		};
		try {
			const onlyA = await open('s1', 'topics=a');
			const both = await open('s1', 'topics=a&topics=b');
			const otherB = await open('s2', 'topics=b');
			// One tick: broadcasts on both topics, interleaved with events for session s1 only.
			await Promise.all([
				mixed.publish('a', { n: 1 }),
				mixed.publish('b', { n: 2 }),
				mixed.publish('a', { n: 3 }, { session: 's1' }),
				mixed.publish('b', { n: 4 }, { session: 's1' }),
				mixed.publish('a', { n: 5 }),
				mixed.publish('b', { n: 6 }),
			]);
			const received = async (client: typeof onlyA, count: number) => {
				const live = () => client.events.filter((e) => e.event === 'a' || e.event === 'b');
				await client.readUntil(() => live().length >= count);
				return live().map((e) => `${e.event}${JSON.parse(e.data).n}`);
			};
			expect(await received(onlyA, 3)).toEqual(['a1', 'a3', 'a5']);
			expect(await received(both, 6)).toEqual(['a1', 'b2', 'a3', 'b4', 'a5', 'b6']);
			expect(await received(otherB, 2)).toEqual(['b2', 'b6']);
			// Nothing more came: the next event each gets is the one published now.
			await mixed.publish('b', { n: 7 });
			await mixed.publish('a', { n: 8 });
			expect(await received(onlyA, 4)).toEqual(['a1', 'a3', 'a5', 'a8']);
			expect(await received(otherB, 3)).toEqual(['b2', 'b6', 'b7']);
			for (const client of [onlyA, both, otherB]) await client.cancel();
		} finally {
			await mixed.close();
		}
	});

	it('more streams than one turn writes: each gets every tick, once, in order', async () => {
		hub = createSSEHub<Topics>({ topics: ['logs'], closeOnSignals: false });
		const clients = [];
		for (let i = 0; i < STREAMS_PER_TURN + 150; i++) {
			const client = await openHubStream(hub, 'topics=logs');
			await client.readUntil(() => isReady(client));
			clients.push(client);
		}
		// Five ticks, each published while the streams are still being written the one before.
		for (let tick = 0; tick < 5; tick++) {
			await Promise.all([0, 1, 2].map((i) => hub?.publish('logs', { n: tick * 3 + i })));
			await new Promise((resolve) => setImmediate(resolve));
		}
		const expected = Array.from({ length: 15 }, (_, n) => n);
		for (const client of clients) {
			const logs = () => client.events.filter((e) => e.event === 'logs');
			await client.readUntil(() => logs().length >= 15);
			expect(logs().map((e) => JSON.parse(e.data).n)).toEqual(expected);
		}
		// Nothing more was queued for anyone.
		await hub.publish('logs', { n: 15 });
		for (const client of clients) {
			await client.readUntil(() => client.events.filter((e) => e.event === 'logs').length >= 16);
			expect(client.events.filter((e) => e.event === 'logs')).toHaveLength(16);
		}
		for (const client of clients) await client.cancel();
	});
});
