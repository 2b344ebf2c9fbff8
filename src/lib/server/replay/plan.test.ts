import { describe, expect, it } from 'vitest';
import type { HistoryStore, TopicCursor } from '../history/index.js';
import { memoryHistory } from '../history/index.js';
import { type InitialHistory, planReplay } from './plan.js';

const ALL = Number.POSITIVE_INFINITY;

type CursorStart = { after?: number; last?: number };

function byTopic(cursors: readonly TopicCursor[]): Record<string, CursorStart> {
	const out: Record<string, CursorStart> = {};
	for (const { topic, ...rest } of cursors) {
		expect(out, `topic ${topic} listed twice`).not.toHaveProperty(topic);
		out[topic] = rest;
	}
	return out;
}

/** A store holding `count` events (all on topic a, seqs 1 to count), and its epoch. */
async function storeWith(count: number): Promise<{ store: HistoryStore; epoch: string }> {
	const store = memoryHistory();
	for (let i = 0; i < count; i++) await store.append({ topic: 'a', data: String(i) });
	return { store, epoch: await store.epoch() };
}

describe('planReplay', () => {
	const topics = ['a', 'b'];

	it('gives a fresh client everything after the head and its first-connection history, with no gap', async () => {
		const { store } = await storeWith(3);
		const cases: Array<[InitialHistory | undefined, CursorStart]> = [
			[undefined, { after: 3, last: 10 }],
			['all', { after: 3, last: ALL }],
			['none', { after: 3 }],
			[5, { after: 3, last: 5 }],
			[
				{ a: 5, b: 5 },
				{ after: 3, last: 5 },
			],
		];
		for (const [initialHistory, cursor] of cases) {
			for (const lastEventId of [null, '']) {
				const plan = await planReplay({
					store,
					session: 's1',
					topics,
					lastEventId,
					newTopicHistory: 'none', // for topics added later, not for a fresh client
					initialHistory,
				});
				expect(plan.gap).toBeNull();
				expect(byTopic(plan.cursors)).toEqual({ a: cursor, b: cursor });
				// The stream states the head as its position from its first byte.
				expect(plan.position).toBe(3);
				expect(plan.added).toEqual(['a', 'b']);
			}
		}
	});

	it('reports a malformed id as a gap and falls back to the history policy', async () => {
		const { store, epoch } = await storeWith(3);
		const bad = [
			'garbage',
			'42',
			`${epoch}-`,
			`${epoch}-x`,
			`${epoch}--1`,
			`${epoch}-1.5`,
			`${epoch}-1-2`,
			`${epoch} -1`,
			`${epoch}-1\n`,
			`-${epoch}-1`,
			`${epoch}-1234567890123456`, // longer than any seq the parser accepts
		];
		for (const lastEventId of bad) {
			const plan = await planReplay({
				store,
				session: 's1',
				topics,
				lastEventId,
				newTopicHistory: 2,
			});
			expect(plan.gap, lastEventId).toEqual({ reason: 'malformed', topics: ['a', 'b'] });
			expect(byTopic(plan.cursors)).toEqual({
				a: { after: 3, last: 2 },
				b: { after: 3, last: 2 },
			});
			expect(plan.position).toBe(3);
			expect(plan.added).toEqual(['a', 'b']);
		}
	});

	it('treats a seq beyond the head of this epoch as malformed', async () => {
		const { store, epoch } = await storeWith(3);
		await store.setCursorRecord('s1', {
			connection: 'c1',
			topics: ['a', 'b'],
			from: 0,
			to: null,
		});
		const beyond = await planReplay({ store, session: 's1', topics, lastEventId: `${epoch}-4` });
		expect(beyond.gap).toEqual({ reason: 'malformed', topics: ['a', 'b'] });
		expect(byTopic(beyond.cursors)).toEqual({
			a: { after: 3, last: ALL },
			b: { after: 3, last: ALL },
		});
		expect(beyond.position).toBe(3);
		// The head itself is a real position.
		const atHead = await planReplay({ store, session: 's1', topics, lastEventId: `${epoch}-3` });
		expect(atHead.gap).toBeNull();
		expect(atHead.position).toBe(3);
	});

	it('reports a position from another epoch as an epoch gap, whatever its seq', async () => {
		const { store } = await storeWith(3);
		for (const lastEventId of ['otherepoch-1', 'otherepoch-999999']) {
			const plan = await planReplay({
				store,
				session: 's1',
				topics,
				lastEventId,
				newTopicHistory: 'none',
			});
			expect(plan.gap).toEqual({ reason: 'epoch', topics: ['a', 'b'] });
			expect(byTopic(plan.cursors)).toEqual({ a: { after: 3 }, b: { after: 3 } });
			expect(plan.position).toBe(3);
		}
	});

	it('resumes the topics the client had and gives new ones their history', async () => {
		const { store, epoch } = await storeWith(10);
		await store.setCursorRecord('s1', { connection: 'c1', topics: ['a', 'b'], from: 2, to: 8 });
		const plan = await planReplay({
			store,
			session: 's1',
			topics: ['a', 'b', 'c'],
			lastEventId: `${epoch}-6`,
			newTopicHistory: 4,
		});
		expect(plan.gap).toBeNull();
		// c gets its history and, whatever the policy, everything after the position.
		expect(byTopic(plan.cursors)).toEqual({
			a: { after: 6 },
			b: { after: 6 },
			c: { after: 6, last: 4 },
		});
		expect(plan.position).toBe(6);
		expect(plan.added).toEqual(['c']);
	});

	it('gives one topic its own first-connection history; those not named get the default', async () => {
		const { store } = await storeWith(3);
		const plan = await planReplay({
			store,
			session: 's1',
			topics,
			lastEventId: null,
			initialHistory: { a: 'all' },
		});
		expect(byTopic(plan.cursors)).toEqual({
			a: { after: 3, last: ALL },
			b: { after: 3, last: 10 },
		});
	});

	it('gives a topic asked with history its history although the client had it', async () => {
		const { store, epoch } = await storeWith(10);
		await store.setCursorRecord('s1', {
			connection: 'c1',
			client: 'tab-group-1',
			topics: ['a', 'b'],
			from: 2,
			to: 8,
		});
		const plan = await planReplay({
			store,
			session: 's1',
			client: 'tab-group-1',
			topics: ['a', 'b'],
			lastEventId: `${epoch}-6`,
			newTopicHistory: 4,
			history: ['b'],
		});
		// A shared stream had b, but a tab new to it wants its history: b is treated as new.
		expect(byTopic(plan.cursors)).toEqual({ a: { after: 6 }, b: { after: 6, last: 4 } });
		expect(plan.added).toEqual(['b']);
	});

	it('gives a tab new to a shared stream (?first=) the first-connection history, not newTopicHistory', async () => {
		const { store, epoch } = await storeWith(10);
		const record = { connection: 'c1', client: 'tab-group-1', topics: ['a'], from: 2, to: 8 };
		await store.setCursorRecord('s1', record);
		const plan = await planReplay({
			store,
			session: 's1',
			client: 'tab-group-1',
			topics: ['a', 'b'],
			lastEventId: `${epoch}-6`,
			initialHistory: 2,
			first: ['a', 'b'],
		});
		// a: the stream had it, so only the newcomer's 2; b: new to the stream, so all of it (unsure).
		expect(byTopic(plan.cursors)).toEqual({ a: { after: 6, last: 2 }, b: { after: 6, last: ALL } });
		expect(plan.added).toEqual(['a', 'b']);
	});

	it('trusts a client that states it had a topic (?had=, a snapshot position): no history', async () => {
		const { store, epoch } = await storeWith(10);
		const plan = await planReplay({
			store,
			session: 's1',
			client: 'new-client-1',
			topics: ['a', 'b'],
			lastEventId: `${epoch}-6`,
			had: ['a'],
		});
		// No records: b, unstated, is new (all of it); a replays only what came after 6.
		expect(byTopic(plan.cursors)).toEqual({ a: { after: 6 }, b: { after: 6, last: ALL } });
		expect(plan.added).toEqual(['b']);
	});

	it('starts the connection at the position when every topic was had', async () => {
		const { store, epoch } = await storeWith(10);
		await store.setCursorRecord('s1', { connection: 'c1', topics: ['a', 'b'], from: 2, to: 8 });
		const plan = await planReplay({ store, session: 's1', topics, lastEventId: `${epoch}-6` });
		expect(byTopic(plan.cursors)).toEqual({ a: { after: 6 }, b: { after: 6 } });
		expect(plan.added).toEqual([]);
	});

	it('treats every topic as new for a valid position with no covering record', async () => {
		const { store, epoch } = await storeWith(10);
		// A session the store never saw, and one whose only record ended before the position.
		await store.setCursorRecord('s2', { connection: 'c1', topics: ['a', 'b'], from: 0, to: 4 });
		for (const session of ['unknown', 's2']) {
			const plan = await planReplay({ store, session, topics, lastEventId: `${epoch}-6` });
			expect(plan.gap).toBeNull();
			expect(byTopic(plan.cursors)).toEqual({
				a: { after: 6, last: ALL },
				b: { after: 6, last: ALL },
			});
			expect(plan.position).toBe(6);
			expect(plan.added).toEqual(['a', 'b']);
		}
	});

	it('does not let one tab’s topics count as had for another tab of the session', async () => {
		const { store, epoch } = await storeWith(10);
		await store.setCursorRecord('s1', { connection: 'tab1', topics: ['a'], from: 0, to: null });
		await store.setCursorRecord('s1', { connection: 'tab2', topics: ['a', 'b'], from: 3, to: 9 });
		const plan = await planReplay({ store, session: 's1', topics, lastEventId: `${epoch}-5` });
		expect(byTopic(plan.cursors)).toEqual({ a: { after: 5 }, b: { after: 5, last: ALL } });
	});

	it("with a client id, only that client's records count", async () => {
		const { store, epoch } = await storeWith(10);
		const record = { from: 3, to: null, added: [] };
		await store.setCursorRecord('s1', {
			...record,
			connection: 'x',
			client: 'tab1',
			topics: ['a'],
		});
		await store.setCursorRecord('s1', { ...record, connection: 'y', client: 'tab2', topics });
		const plan = (client: string) =>
			planReplay({ store, session: 's1', client, topics, lastEventId: `${epoch}-5` });
		expect(byTopic((await plan('tab2')).cursors)).toEqual({ a: { after: 5 }, b: { after: 5 } });
		expect(byTopic((await plan('tab1')).cursors)).toEqual({
			a: { after: 5 },
			b: { after: 5, last: ALL },
		});
		// A client the store has no record of: everything is new, after the position too.
		expect(byTopic((await plan('tab3')).cursors)).toEqual({
			a: { after: 5, last: ALL },
			b: { after: 5, last: ALL },
		});
	});

	it('a client with no id to send resumes from the oldest start of its own records', async () => {
		const { store } = await storeWith(10);
		await store.setCursorRecord('s1', {
			connection: 'x',
			client: 'tab1',
			topics,
			added: topics,
			from: 4,
			to: 7,
		});
		await store.setCursorRecord('s1', {
			connection: 'y',
			client: 'tab1',
			topics,
			added: topics,
			from: 9,
			to: null,
		});
		const plan = await planReplay({
			store,
			session: 's1',
			client: 'tab1',
			topics,
			lastEventId: null,
			newTopicHistory: 'none',
		});
		expect(plan.gap).toBeNull();
		expect(plan.position).toBe(4);
		expect(byTopic(plan.cursors)).toEqual({ a: { after: 4 }, b: { after: 4 } });
	});
});
