import { describe, expect, it } from 'vitest';
import { describeHistoryStore } from '../../../testing/store-contract.js';
import { SSEConfigError } from '../../errors.js';
import { parseEventId } from '../../wire/index.js';
import type { CursorRecord, HistoryStore, TopicCursor } from '../store.js';
import { type MemoryHistoryOptions, memoryHistory } from './memory.js';

describeHistoryStore('memoryHistory', (options) => memoryHistory(options), undefined, {
	injectableClock: true,
});

/** A store on a clock the test moves by hand. */
function clocked(options: MemoryHistoryOptions = {}) {
	const clock = { time: 1_000_000 };
	const store = memoryHistory({ ...options, now: () => clock.time });
	return { store, clock };
}

const everything = (topic: string): TopicCursor => ({ topic, last: Number.POSITIVE_INFINITY });

async function readSeqs(store: HistoryStore, session: string, topics: string[]) {
	const { events } = await store.read({ session, cursors: topics.map(everything), limit: 1000 });
	return events.map((event) => event.seq);
}

const closed = (connection: string, topics: string[] = ['a']): CursorRecord => ({
	connection,
	topics,
	from: 0,
	to: 0,
});
const open = (connection: string, topics: string[] = ['a']): CursorRecord => ({
	connection,
	topics,
	from: 0,
	to: null,
});

describe('memoryHistory', () => {
	it('starts a new epoch with every instance, one the wire parser accepts', async () => {
		const epochs = await Promise.all(Array.from({ length: 20 }, () => memoryHistory().epoch()));
		expect(new Set(epochs).size).toBe(20);
		for (const epoch of epochs) expect(parseEventId(`${epoch}-1`)).toEqual({ epoch, seq: 1 });
		const [one, two] = [memoryHistory(), memoryHistory()];
		const a = await one.append({ topic: 'a', data: '1' });
		const b = await two.append({ topic: 'a', data: '1' });
		expect(a.seq).toBe(b.seq);
		expect(a.id).not.toBe(b.id);
	});

	it('remembers at most maxIdempotencyKeys keys, forgetting the oldest first', async () => {
		expect(() => memoryHistory({ maxIdempotencyKeys: 0 })).toThrow(
			/maxIdempotencyKeys must be a positive integer/,
		);
		for (const value of [0, 1.5]) {
			const make = () => memoryHistory({ maxIdempotencyKeys: value });
			expect(make).toThrow(RangeError);
			expect(make).toThrow(SSEConfigError);
			expect(make).toThrow(expect.objectContaining({ code: 'invalid_option' }));
		}
		const store = memoryHistory({ maxIdempotencyKeys: 2 });
		const append = (idempotencyKey: string) =>
			store.append({ topic: 'a', data: '1', idempotencyKey });
		for (const key of ['k1', 'k2', 'k3']) await append(key); // 1, 2, 3: k1 is forgotten
		expect(await append('k3')).toMatchObject({ seq: 3, duplicate: true });
		expect(await append('k2')).toMatchObject({ seq: 2, duplicate: true });
		const again = await append('k1');
		expect(again.seq).toBe(4);
		expect(again.duplicate).toBeUndefined();
	});

	describe('age bound', () => {
		it('drops topic-log and session events older than maxAgeMs, however few', async () => {
			const { store, clock } = clocked({ maxAgeMs: 1000 });
			await store.append({ topic: 'a', data: '1' }); // 1 at t0
			await store.append({ topic: 'a', data: '2', session: 's1' }); // 2 at t0
			clock.time += 500;
			await store.append({ topic: 'a', data: '3' }); // 3 at t0+500
			await store.append({ topic: 'a', data: '4', session: 's1' }); // 4 at t0+500
			clock.time += 500; // exactly maxAgeMs old is not yet "older than"
			expect(await readSeqs(store, 's1', ['a'])).toEqual([1, 2, 3, 4]);
			clock.time += 1;
			expect(await readSeqs(store, 's1', ['a'])).toEqual([3, 4]);
			expect((await store.stats()).events).toBe(2);
			clock.time += 500;
			expect(await readSeqs(store, 's1', ['a'])).toEqual([]);
			expect((await store.stats()).events).toBe(0);
			// Dropping by age does not rewind the sequence.
			expect((await store.append({ topic: 'a', data: '5' })).seq).toBe(5);
		});

		it('stamps events with the injected clock', async () => {
			const { store, clock } = clocked();
			clock.time = 42_000;
			expect((await store.append({ topic: 'a', data: '1' })).time).toBe(42_000);
		});

		it('counts a session’s aged-out events as gone even before the session is touched', async () => {
			const { store, clock } = clocked({ maxAgeMs: 1000 });
			await store.append({ topic: 'a', data: '1', session: 's1' });
			await store.append({ topic: 'a', data: '2' });
			expect((await store.stats()).events).toBe(2);
			clock.time += 1001;
			// Nothing has read s1 since: stats must still not count what no read can return.
			expect((await store.stats()).events).toBe(0);
		});
	});

	describe('session lifetime', () => {
		it('forgets a session idle for longer than sessionTtlMs', async () => {
			const { store, clock } = clocked({ sessionTtlMs: 10_000 });
			await store.setCursorRecord('s1', closed('c1'));
			await store.append({ topic: 'a', data: '1', session: 's1' });
			clock.time += 10_000;
			expect(await store.cursorRecords('s1')).not.toBeNull(); // exactly the TTL: still kept
			clock.time += 10_001;
			expect((await store.stats()).sessions).toBe(0);
			expect(await store.cursorRecords('s1')).toBeNull();
			expect(await readSeqs(store, 's1', ['a'])).toEqual([]);
			expect((await store.stats()).events).toBe(0);
		});

		it('forgets each idle session at its own time, after others left the idle ones or none were left', async () => {
			const { store, clock } = clocked({ sessionTtlMs: 10_000 });
			const t0 = clock.time;
			const at = (ms: number) => {
				clock.time = t0 + ms;
			};
			const sessions = async () => (await store.stats()).sessions;
			for (const [i, session] of ['s1', 's2', 's3'].entries()) {
				at(i * 1_000);
				await store.setCursorRecord(session, closed('c1'));
			}
			at(5_000);
			expect(await sessions()).toBe(3);
			await store.setCursorRecord('s1', open('c2')); // the idlest leaves the idle ones
			at(11_000);
			expect(await sessions()).toBe(3); // s2 was last active at 1,000: exactly its TTL
			at(11_001);
			expect(await sessions()).toBe(2);
			at(12_001);
			expect(await sessions()).toBe(1); // only s1, which is open
			// With none idle, a session that becomes idle now ages from now.
			await store.setCursorRecord('s4', closed('c1'));
			at(22_001);
			expect(await sessions()).toBe(2);
			at(22_002);
			expect(await sessions()).toBe(1);
		});

		it('counts reads, appends and records as activity', async () => {
			const { store, clock } = clocked({ sessionTtlMs: 10_000 });
			await store.setCursorRecord('s1', closed('c1'));
			await store.setCursorRecord('s2', closed('c1'));
			await store.setCursorRecord('s3', closed('c1'));
			clock.time += 8_000;
			await store.read({ session: 's1', cursors: [everything('a')], limit: 10 });
			await store.append({ topic: 'a', data: '1', session: 's2' });
			await store.cursorRecords('s3');
			clock.time += 8_000; // 16 s since created, 8 s since last active
			expect((await store.stats()).sessions).toBe(3);
			clock.time += 2_001;
			expect((await store.stats()).sessions).toBe(0);
		});

		it('keeps a session with an open connection however long it is idle', async () => {
			const { store, clock } = clocked({ sessionTtlMs: 10_000 });
			await store.setCursorRecord('s1', closed('c0'));
			await store.setCursorRecord('s1', open('c1'));
			await store.append({ topic: 'a', data: '1', session: 's1' });
			await store.setCursorRecord('idle', closed('c2'));
			clock.time += 60_000;
			expect((await store.stats()).sessions).toBe(1);
			expect(await store.cursorRecords('idle')).toBeNull();
			expect(await store.cursorRecords('s1')).toHaveLength(2);
			expect(await readSeqs(store, 's1', ['a'])).toEqual([1]);
			// Once the connection ends, the session ages like any other.
			await store.setCursorRecord('s1', { ...open('c1'), to: 1 });
			clock.time += 10_001;
			expect(await store.cursorRecords('s1')).toBeNull();
		});

		it('keeps every open record and the newest 32 ended ones', async () => {
			const store = memoryHistory();
			for (let i = 0; i < 3; i++) await store.setCursorRecord('s1', open(`open${i}`));
			for (let i = 0; i < 40; i++) {
				await store.setCursorRecord('s1', { ...closed(`ended${i}`), from: i, to: i });
			}
			const records = (await store.cursorRecords('s1')) as CursorRecord[];
			const ended = records.filter((record) => record.to !== null).map((r) => r.connection);
			expect(records.filter((record) => record.to === null)).toHaveLength(3);
			expect(ended).toEqual(Array.from({ length: 32 }, (_, i) => `ended${i + 8}`));
		});

		it('knows a session that only received scoped events, with no records', async () => {
			const store = memoryHistory();
			await store.append({ topic: 'a', data: '1', session: 's1' });
			expect(await store.cursorRecords('s1')).toEqual([]);
			// Reading does not create a session: unknown ids cannot grow memory.
			await store.read({ session: 'ghost', cursors: [everything('a')], limit: 10 });
			expect(await store.cursorRecords('ghost')).toBeNull();
			expect((await store.stats()).sessions).toBe(1);
		});
	});

	describe('retained-event counter', () => {
		it('stays exact through count eviction, age pruning, forgotten sessions and close', async () => {
			const { store, clock } = clocked({
				maxLength: 3,
				maxAgeMs: 10_000,
				sessionTtlMs: 5_000,
				maxSessions: 2,
			});
			const events = async () => (await store.stats()).events;
			for (let i = 0; i < 7; i++) await store.append({ topic: 'a', data: '1' });
			expect(await events()).toBe(3);
			for (let i = 0; i < 2; i++) await store.append({ topic: 'b', data: '1' });
			expect(await events()).toBe(5);
			for (let i = 0; i < 5; i++) await store.append({ topic: 'a', data: '1', session: 's1' });
			expect(await events()).toBe(8);
			clock.time += 1;
			await store.append({ topic: 'a', data: '1', session: 's2' });
			await store.append({ topic: 'b', data: '1', session: 's2' });
			expect(await events()).toBe(10);
			// A third session pushes out s1 (the idlest) and its 3 events.
			clock.time += 1;
			await store.append({ topic: 'a', data: '1', session: 's3' });
			expect(await store.cursorRecords('s1')).toBeNull();
			expect(await events()).toBe(8);
			// s2 and s3 idle past their TTL (5 s) but their events are younger than maxAgeMs.
			clock.time += 6_000;
			expect(await events()).toBe(5);
			expect((await store.stats()).sessions).toBe(0);
			// Topic logs age out.
			clock.time += 5_000;
			expect(await events()).toBe(0);
			await store.append({ topic: 'a', data: '1' });
			expect(await events()).toBe(1);
			await store.close();
			expect(await events()).toBe(0);
		});

		it('matches what reads return over a long run of evictions', async () => {
			const { store, clock } = clocked({ maxLength: 5, maxAgeMs: 50, sessionTtlMs: 1_000_000 });
			const topics = ['a', 'b', 'c'];
			const sessions = [undefined, 's1', 's2'];
			for (let i = 0; i < 300; i++) {
				clock.time += i % 7; // uneven gaps so age pruning drops a few at a time
				await store.append({
					topic: topics[i % 3] as string,
					data: String(i),
					session: sessions[i % 5 === 0 ? 1 : i % 11 === 0 ? 2 : 0],
				});
				if (i % 25 !== 24) continue;
				// Every retained event is readable by exactly one of these reads.
				const broadcast = await readSeqs(store, 'nobody', topics);
				const own1 = (await readSeqs(store, 's1', topics)).filter((s) => !broadcast.includes(s));
				const own2 = (await readSeqs(store, 's2', topics)).filter((s) => !broadcast.includes(s));
				expect((await store.stats()).events).toBe(broadcast.length + own1.length + own2.length);
			}
		});
	});
});
