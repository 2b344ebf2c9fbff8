/**
 * The hub driven directly through its handler, reading the response body at a pace the test
 * controls: the stream's own queue is then the only buffer, so the replay truly waits on the
 * client and the hand-off from replay to live can be observed.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { requestEvent } from '../../../../tests/helpers/hub-server.js';
import { memoryHistory } from '../history/index.js';
import { STREAMS_PER_TURN } from './fan-out.js';
import { createSSEHub } from './hub.js';
import type { SSEHub } from './types.js';

type Topics = { logs: { n: number; pad?: string } };
let hub: SSEHub<Topics> | undefined;

afterEach(async () => {
	await hub?.close();
	hub = undefined;
});

/** Reads a body event by event, only when asked to. */
function pacedReader(body: ReadableStream<Uint8Array>) {
	const reader = body.getReader();
	const decoder = new TextDecoder();
	const events: EventSourceMessage[] = [];
	const parser = createParser({ onEvent: (event) => events.push(event) });
	return {
		events,
		async readUntil(predicate: () => boolean, maxChunks = 100_000) {
			for (let chunks = 0; !predicate(); chunks++) {
				let timer: ReturnType<typeof setTimeout> | undefined;
				const stalled = new Promise<never>((_, reject) => {
					timer = setTimeout(
						() => reject(new Error(`no data for 5 s after ${events.length} events`)),
						5000,
					);
				});
				const { value, done } = await Promise.race([reader.read(), stalled]).finally(() =>
					clearTimeout(timer),
				);
				if (done || chunks > maxChunks)
					throw new Error(`stream ended after ${events.length} events`);
				parser.feed(decoder.decode(value, { stream: true }));
			}
		},
		cancel: () => reader.cancel(),
	};
}

async function connect(h: SSEHub<Topics>, query: string) {
	const response = await h.handler()(requestEvent(new Request(`http://127.0.0.1/events?${query}`)));
	if (!response.body) throw new Error(`no body (status ${response.status})`);
	return pacedReader(response.body);
}

describe('replay to live hand-off', () => {
	it('events published while a replay waits on a slow client come once, in order, after it', async () => {
		hub = createSSEHub<Topics>({
			topics: ['logs'],
			history: memoryHistory({ maxLength: 5000 }),
			closeOnSignals: false,
			limits: { replayPageSize: 50 },
		});
		const pad = 'p'.repeat(1024);
		const history: string[] = [];
		for (let n = 0; n < 1000; n++) history.push(await hub.publish('logs', { n, pad }));

		const client = await connect(hub, 'topics=logs');
		await client.readUntil(() => client.events.length >= 100);
		const live: string[] = [];
		for (let n = 1000; n < 1050; n++) live.push(await hub.publish('logs', { n }));
		await client.readUntil(
			() =>
				client.events.some((e) => e.event === 'sse:ready') &&
				client.events.filter((e) => e.event === 'logs').length >= history.length + live.length,
		);
		const logs = client.events.filter((e) => e.event === 'logs').map((e) => e.id);
		expect(logs).toEqual([...history, ...live]);
		// Whatever the store held when the replay read it counts as replayed; the rest was held back.
		const ready = client.events.find((e) => e.event === 'sse:ready');
		expect(JSON.parse(ready?.data ?? '{}').replayed).toBeGreaterThanOrEqual(history.length);
		await client.cancel();
	});

	it('a replay never fills the stream past its high-water mark, whatever its size', async () => {
		hub = createSSEHub<Topics>({
			topics: ['logs'],
			history: memoryHistory({ maxLength: 5000 }),
			closeOnSignals: false,
			limits: { maxBufferedBytes: 96 * 1024 },
		});
		const pad = 'q'.repeat(1024);
		for (let n = 0; n < 3000; n++) await hub.publish('logs', { n, pad });
		const client = await connect(hub, 'topics=logs');
		// Read nothing for a while: the replay must stop at the stream's high-water mark, not run
		// on into the buffer limit (which would drop the client and make it reconnect forever).
		for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
		expect((await hub.stats()).connections).toBe(1);
		await client.readUntil(() => client.events.some((e) => e.event === 'sse:ready'));
		expect(client.events.filter((e) => e.event === 'logs')).toHaveLength(3000);
		await client.cancel();
	});
});

describe('live fan-out', () => {
	it('a burst published in one tick goes out as one chunk per connection, the same bytes for all', async () => {
		hub = createSSEHub<Topics>({ topics: ['logs'], closeOnSignals: false });
		const open = async () => {
			const response = await (hub as SSEHub<Topics>).handler()(
				requestEvent(new Request('http://127.0.0.1/events?topics=logs')),
			);
			const reader = (response.body as ReadableStream<Uint8Array>).getReader();
			let text = '';
			while (!text.includes('sse:ready'))
				text += new TextDecoder().decode((await reader.read()).value);
			return reader;
		};
		const [a, b] = [await open(), await open()];
		await Promise.all(Array.from({ length: 50 }, (_, n) => hub?.publish('logs', { n })));
		const [chunkA, chunkB] = [(await a.read()).value, (await b.read()).value];
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
			const request = new Request(`http://127.0.0.1/events?${topics}`, {
				headers: { 'x-session': session },
			});
			const response = await mixed.handler()(requestEvent(request));
			const client = pacedReader(response.body as ReadableStream<Uint8Array>);
			await client.readUntil(() => client.events.some((e) => e.event === 'sse:ready'));
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
			const client = await connect(hub, 'topics=logs');
			await client.readUntil(() => client.events.some((e) => e.event === 'sse:ready'));
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
