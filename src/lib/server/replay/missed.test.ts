import { describe, expect, it } from 'vitest';
import type { HistoryStore, ReadResult, StoredEvent, TopicCursor } from '../history/index.js';
import { memoryHistory } from '../history/index.js';
import type { SSEMessage, TopicMapOf } from '../transport/index.js';
import { createEmitWithHistory, replayMissedMessages } from './missed.js';

const ALL = Number.POSITIVE_INFINITY;

async function collect(
	iterable: AsyncIterable<ReadResult>,
	maxPages = 1000,
): Promise<ReadResult[]> {
	const pages: ReadResult[] = [];
	for await (const page of iterable) {
		pages.push(page);
		if (pages.length > maxPages) throw new Error(`replay did not end after ${maxPages} pages`);
	}
	return pages;
}

const seqs = (events: StoredEvent[]) => events.map((event) => event.seq);

describe('replayMissedMessages', () => {
	/**
	 * seq 1–6 a · 7 c · 8 b · 9 c@s · 10 a@s · 11 c · 12 d · 13 b@other · 14 a · 15 c
	 * (`x@s` is scoped to session s.)
	 */
	async function scene(): Promise<HistoryStore> {
		const store = memoryHistory();
		const add = (topic: string, session?: string) =>
			store.append({ topic, data: JSON.stringify(topic), session });
		for (let i = 0; i < 6; i++) await add('a');
		await add('c');
		await add('b');
		await add('c', 's');
		await add('a', 's');
		await add('c');
		await add('d');
		await add('b', 'other');
		await add('a');
		await add('c');
		return store;
	}

	it('yields nothing for no cursors', async () => {
		const store = await scene();
		expect(await collect(replayMissedMessages({ store, session: 's', cursors: [] }))).toEqual([]);
	});

	it('yields everything after the position, in seq order, once, across small pages', async () => {
		const store = await scene();
		const cursors: TopicCursor[] = [
			{ topic: 'a', after: 2 },
			{ topic: 'b', after: 0 },
		];
		const pages = await collect(
			replayMissedMessages({ store, session: 's', cursors, pageSize: 3 }),
		);
		expect(pages.map((page) => seqs(page.events))).toEqual([[3, 4, 5], [6, 8, 10], [14]]);
		expect(pages[0]?.expired).toEqual([]);
	});

	it('keeps a "last N" window and a "none" cursor exact when pages end before them', async () => {
		const store = await scene();
		const cursors: TopicCursor[] = [
			{ topic: 'a', after: 2 },
			{ topic: 'b', after: 0 },
			{ topic: 'c', last: 2 }, // c visible to s: 7, 9, 11, 15; the last two are 11 and 15
			{ topic: 'd', last: 0 }, // policy 'none': d's 12 must never come
		];
		for (const pageSize of [1, 2, 3, 4, 100]) {
			const pages = await collect(replayMissedMessages({ store, session: 's', cursors, pageSize }));
			const events = pages.flatMap((page) => page.events);
			expect(seqs(events), `pageSize ${pageSize}`).toEqual([3, 4, 5, 6, 8, 10, 11, 14, 15]);
			for (const page of pages.slice(0, -1)) expect(page.events).toHaveLength(pageSize);
		}
	});

	it('reaches into a "last N" window across a page boundary without repeating it', async () => {
		const store = await scene();
		// c's window (7, 9, 11, 15 for last 4) starts inside the first page.
		const cursors: TopicCursor[] = [
			{ topic: 'a', after: 5 },
			{ topic: 'c', last: 4 },
		];
		const pages = await collect(
			replayMissedMessages({ store, session: 's', cursors, pageSize: 2 }),
		);
		expect(pages.map((page) => seqs(page.events))).toEqual([[6, 7], [9, 10], [11, 14], [15]]);
	});

	it('pages the same events as one unlimited read, for any mix of cursors', async () => {
		const store = memoryHistory({ maxLength: 6 });
		const topics = ['a', 'b', 'c', 'd'];
		let state = 7;
		const next = () => {
			state = (state * 1103515245 + 12345) % 2147483648;
			return state / 2147483648;
		};
		for (let i = 0; i < 80; i++) {
			const session = next() < 0.3 ? (next() < 0.5 ? 's' : 'other') : undefined;
			await store.append({ topic: topics[Math.floor(next() * 4)] as string, data: '0', session });
		}
		const head = await store.head();
		for (let trial = 0; trial < 60; trial++) {
			const cursors: TopicCursor[] = topics
				.filter(() => next() < 0.7)
				.map((topic) => {
					const roll = next();
					if (roll < 0.4) return { topic, after: Math.floor(next() * head) };
					if (roll < 0.55) return { topic, last: ALL };
					return { topic, last: Math.floor(next() * 5) };
				});
			const pageSize = 1 + Math.floor(next() * 4);
			if (cursors.length === 0) continue;
			const whole = await store.read({ session: 's', cursors, limit: Number.MAX_SAFE_INTEGER });
			const pages = await collect(replayMissedMessages({ store, session: 's', cursors, pageSize }));
			const context = JSON.stringify({ cursors, pageSize });
			expect(seqs(pages.flatMap((page) => page.events)), context).toEqual(seqs(whole.events));
			expect(pages[0]?.expired, context).toEqual(whole.expired);
		}
	});

	it('reports expired topics on the first page', async () => {
		const store = memoryHistory({ maxLength: 3 });
		for (let i = 0; i < 5; i++) await store.append({ topic: 'a', data: '0' }); // 1, 2 dropped
		await store.append({ topic: 'b', data: '0' });
		const cursors: TopicCursor[] = [
			{ topic: 'a', after: 0 },
			{ topic: 'b', after: 0 },
		];
		const pages = await collect(
			replayMissedMessages({ store, session: 's', cursors, pageSize: 2 }),
		);
		expect(pages[0]?.expired).toEqual(['a']);
		expect(seqs(pages.flatMap((page) => page.events))).toEqual([3, 4, 5, 6]);
		const fine = await collect(
			replayMissedMessages({ store, session: 's', cursors: [{ topic: 'a', after: 2 }] }),
		);
		expect(fine[0]?.expired).toEqual([]);
	});

	it('uses pages of 256 by default', async () => {
		const store = memoryHistory();
		for (let i = 0; i < 300; i++) await store.append({ topic: 'a', data: '0' });
		const pages = await collect(
			replayMissedMessages({ store, session: 's', cursors: [{ topic: 'a', after: 0 }] }),
		);
		expect(pages.map((page) => page.events.length)).toEqual([256, 44]);
	});
});

describe('createEmitWithHistory', () => {
	type Topics = { chat: { text: string }; count: number };

	function recording<T extends TopicMapOf<T> = Topics>(store: HistoryStore, result = true) {
		const log: string[] = [];
		const sent: SSEMessage<T>[] = [];
		const traced: HistoryStore = {
			...store,
			append: async (input) => {
				log.push(`append ${input.topic}`);
				return store.append(input);
			},
		};
		const emit = (message: SSEMessage<T>) => {
			log.push(`emit ${message.event}`);
			sent.push(message);
			return result;
		};
		return { traced, emit, log, sent };
	}

	it('stores the event, then emits it with the stored id', async () => {
		const store = memoryHistory();
		const { traced, emit, log, sent } = recording(store);
		const send = createEmitWithHistory<Topics>(emit, traced);
		const stored = await send('chat', { text: 'hi' });
		expect(log).toEqual(['append chat', 'emit chat']);
		expect(stored).toMatchObject({ seq: 1, topic: 'chat', data: '{"text":"hi"}' });
		expect(stored?.id).toBe(`${await store.epoch()}-1`);
		expect(sent).toEqual([{ event: 'chat', data: { text: 'hi' }, id: stored?.id }]);
		await send('count', 2);
		expect(sent[1]).toEqual({ event: 'count', data: 2, id: `${await store.epoch()}-2` });
		// What was emitted is what a resuming client will be replayed.
		const { events } = await store.read({
			session: 'anyone',
			cursors: [{ topic: 'chat', after: 0 }],
			limit: 10,
		});
		expect(events.map((event) => [event.id, JSON.parse(event.data)])).toEqual([
			[stored?.id, { text: 'hi' }],
		]);
	});

	it('stores to one session only when given one', async () => {
		const store = memoryHistory();
		const { emit } = recording(store);
		const send = createEmitWithHistory<Topics>(emit, store, { session: 's1' });
		expect((await send('count', 1))?.session).toBe('s1');
		const read = (session: string) =>
			store.read({ session, cursors: [{ topic: 'count', after: 0 }], limit: 10 });
		expect((await read('s1')).events).toHaveLength(1);
		expect((await read('s2')).events).toHaveLength(0);
	});

	it('returns null when the stream is closed, but keeps the event for resuming clients', async () => {
		const store = memoryHistory();
		const { emit } = recording(store, false);
		const send = createEmitWithHistory<Topics>(emit, store);
		expect(await send('count', 1)).toBeNull();
		expect(await store.head()).toBe(1);
	});

	it('refuses a bad topic name without storing or emitting anything', async () => {
		const store = memoryHistory();
		const { traced, emit, log } = recording<Record<string, unknown>>(store);
		const send = createEmitWithHistory<Record<string, unknown>>(emit, traced);
		for (const name of ['', 'sse:gap', 'a\nb', 'a\rb', 'a\0b', 'has space', 'x'.repeat(129)]) {
			await expect(send(name, 1), JSON.stringify(name)).rejects.toThrow(TypeError);
		}
		expect(log).toEqual([]);
		expect(await store.head()).toBe(0);
		expect((await store.stats()).events).toBe(0);
	});

	it('refuses data JSON cannot carry without storing anything', async () => {
		const store = memoryHistory();
		const { traced, emit, log } = recording<Record<string, unknown>>(store);
		const send = createEmitWithHistory<Record<string, unknown>>(emit, traced);
		await expect(send('chat', 1n)).rejects.toThrow(TypeError);
		await expect(send('chat', undefined)).rejects.toThrow(TypeError);
		expect(log).toEqual([]);
		expect(await store.head()).toBe(0);
	});
});
