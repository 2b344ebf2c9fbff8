// The behaviour every `HistoryStore` must show, as one suite that each implementation runs
// (`memoryHistory` in `memory.test.ts`, `redisHistory` against a real Redis). It uses only the
// public interface, so what passes here is what the hub and replay may rely on.
import { afterEach, describe, expect, it } from 'vitest';
import { SSEConfigError } from '../server/errors.js';
import type {
	CursorRecord,
	HistoryBounds,
	HistoryStore,
	ReadResult,
	StoredEvent,
	TopicCursor,
} from '../server/history/index.js';
import { parseEventId } from '../server/wire/index.js';
import { record } from './records.js';

/** The bounds a store is made with: `sessionTtlMs` and `maxSessions` left to its defaults when unset. */
export interface StoreFactoryOptions
	extends Pick<HistoryBounds, 'maxLength' | 'maxAgeMs'>,
		Partial<Pick<HistoryBounds, 'sessionTtlMs' | 'maxSessions'>> {
	/** A clock to use instead of the real one; only passed when the store declares `injectableClock`. */
	now?: () => number;
}

export interface StoreContractFeatures {
	/**
	 * The store honours `now` from the factory options for its age bound. Without it the
	 * age-expiry test is skipped: waiting on a real clock would make the suite slow and flaky.
	 * @default false
	 */
	injectableClock?: boolean;
}

/** A fresh, empty store each call (a Redis store: a new key prefix or a flushed database). */
export type StoreFactory = (options: StoreFactoryOptions) => Promise<HistoryStore> | HistoryStore;

/** Frees what one store holds. @default store.close() */
export type StoreCleanup = (store: HistoryStore) => Promise<void> | void;

const LONG_AGO = 60 * 60_000;

/** `seq`s of a read, for compact assertions. */
function seqs(result: ReadResult | StoredEvent[]): number[] {
	return (Array.isArray(result) ? result : result.events).map((event) => event.seq);
}

/** A small deterministic PRNG (mulberry32) so the model test is reproducible. */
function random(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let t = state;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

interface ModelEvent {
	seq: number;
	topic: string;
	session: string | null;
	data: string;
}

/**
 * The contract's meaning of a count-bounded store, written the obvious way: a list per topic
 * log and per session buffer, each trimmed to `maxLength`, remembering what it dropped.
 */
class ReferenceModel {
	head = 0;
	readonly topics = new Map<string, { events: ModelEvent[]; dropped: Map<string, number> }>();
	readonly sessions = new Map<string, { events: ModelEvent[]; dropped: Map<string, number> }>();

	constructor(readonly maxLength: number) {}

	append(topic: string, data: string, session?: string): ModelEvent {
		const event = { seq: ++this.head, topic, session: session ?? null, data };
		const key = session ?? topic;
		const logs = session === undefined ? this.topics : this.sessions;
		let log = logs.get(key);
		if (!log) {
			log = { events: [], dropped: new Map() };
			logs.set(key, log);
		}
		log.events.push(event);
		while (log.events.length > this.maxLength) {
			const gone = log.events.shift() as ModelEvent;
			log.dropped.set(gone.topic, gone.seq);
		}
		return event;
	}

	read(session: string, cursors: TopicCursor[], limit: number) {
		const own = this.sessions.get(session);
		const out: ModelEvent[] = [];
		const expired: string[] = [];
		for (const cursor of cursors) {
			const log = this.topics.get(cursor.topic);
			const candidates = [
				...(log?.events ?? []),
				...(own?.events.filter((event) => event.topic === cursor.topic) ?? []),
			].sort((a, b) => a.seq - b.seq);
			let start: number;
			if ('after' in cursor) {
				start = cursor.after;
				const dropped = Math.max(
					log?.dropped.get(cursor.topic) ?? 0,
					own?.dropped.get(cursor.topic) ?? 0,
				);
				if (dropped > start) expired.push(cursor.topic);
			} else if (cursor.last === Number.POSITIVE_INFINITY) {
				start = 0;
			} else {
				const window = cursor.last > 0 ? candidates.slice(-cursor.last) : [];
				start = window.length > 0 ? (window[0] as ModelEvent).seq - 1 : Number.POSITIVE_INFINITY;
			}
			out.push(...candidates.filter((event) => event.seq > start));
		}
		out.sort((a, b) => a.seq - b.seq);
		return { events: out.slice(0, limit), expired: expired.sort() };
	}
}

/**
 * Registers the contract suite for one `HistoryStore` implementation.
 *
 * @param name shown in the test report, e.g. `'memoryHistory'`
 * @param makeStore returns a fresh, empty store with the given bounds
 * @param cleanup frees a store after each test (default: `store.close()`)
 * @param features what the store offers beyond the interface (an injectable clock)
 */
export function describeHistoryStore(
	name: string,
	makeStore: StoreFactory,
	cleanup: StoreCleanup = (store) => store.close(),
	features: StoreContractFeatures = {},
): void {
	describe(`HistoryStore contract: ${name}`, () => {
		const opened: HistoryStore[] = [];

		async function open(options: Partial<StoreFactoryOptions> = {}): Promise<HistoryStore> {
			const store = await makeStore({ maxLength: 1000, maxAgeMs: LONG_AGO, ...options });
			opened.push(store);
			return store;
		}

		afterEach(async () => {
			for (const store of opened.splice(0)) await cleanup(store);
		});

		/** Appends `topic` broadcast (or to `session`) with data naming its order. */
		function publish(store: HistoryStore, topic: string, session?: string) {
			return store.append({ topic, data: JSON.stringify({ topic, session }), session });
		}

		describe('sequence and ids', () => {
			it('starts at head 0 and numbers events 1, 2, … hub-wide across topics and sessions', async () => {
				const store = await open();
				expect(await store.head()).toBe(0);
				const events = [
					await publish(store, 'a'),
					await publish(store, 'b'),
					await publish(store, 'a', 's1'),
					await publish(store, 'c', 's2'),
					await publish(store, 'a'),
				];
				expect(seqs(events)).toEqual([1, 2, 3, 4, 5]);
				expect(await store.head()).toBe(5);
			});

			it('gives every event the id <epoch>-<seq>, with one stable epoch', async () => {
				const store = await open();
				const epoch = await store.epoch();
				expect(epoch).not.toBe('');
				const events = [await publish(store, 'a'), await publish(store, 'b', 's1')];
				for (const event of events) {
					expect(event.id).toBe(`${epoch}-${event.seq}`);
					// The id must survive the wire parser, or a client could never resume from it.
					expect(parseEventId(event.id)).toEqual({ epoch, seq: event.seq });
				}
				expect(await store.epoch()).toBe(epoch);
				expect((await store.stats()).epoch).toBe(epoch);
			});

			it('returns the stored event as given, with the session only when scoped', async () => {
				const store = await open();
				const before = Date.now();
				const broadcast = await store.append({ topic: 'a', data: '{"n":1}' });
				const scoped = await store.append({ topic: 'b', data: '"x"', session: 's1' });
				expect(broadcast).toMatchObject({ topic: 'a', data: '{"n":1}' });
				expect(broadcast.session).toBeUndefined();
				expect(scoped).toMatchObject({ topic: 'b', data: '"x"', session: 's1' });
				expect(typeof broadcast.time).toBe('number');
				expect(broadcast.time).toBeGreaterThanOrEqual(before - 60_000);
			});

			it('keeps seq unique and gapless under concurrent appends', async () => {
				const store = await open();
				const topics = ['a', 'b', 'c'];
				const events = await Promise.all(
					Array.from({ length: 60 }, (_, i) =>
						publish(store, topics[i % 3] as string, i % 4 === 0 ? `s${i % 3}` : undefined),
					),
				);
				const sorted = seqs(events).sort((x, y) => x - y);
				expect(sorted).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));
				expect(await store.head()).toBe(60);
			});

			it('does not move head on reads or cursor records', async () => {
				const store = await open();
				await publish(store, 'a');
				await store.read({ session: 's1', cursors: [{ topic: 'a', after: 0 }], limit: 10 });
				await store.setCursorRecord('s1', { connection: 'c', topics: ['a'], from: 0, to: 1 });
				expect(await store.head()).toBe(1);
			});
		});

		describe('read', () => {
			/**
			 * seq 1 a · 2 b · 3 a@s1 · 4 a@s2 · 5 c · 6 b@s1 · 7 a
			 * (`x@s` is scoped to session s; the others are broadcast.)
			 */
			async function scene() {
				const store = await open();
				await publish(store, 'a');
				await publish(store, 'b');
				await publish(store, 'a', 's1');
				await publish(store, 'a', 's2');
				await publish(store, 'c');
				await publish(store, 'b', 's1');
				await publish(store, 'a');
				return store;
			}
			const all = (topic: string): TopicCursor => ({ topic, last: Number.POSITIVE_INFINITY });

			it('merges topic logs with the session’s own events in seq order, each once', async () => {
				const store = await scene();
				const result = await store.read({
					session: 's1',
					cursors: [all('a'), all('b')],
					limit: 100,
				});
				expect(seqs(result)).toEqual([1, 2, 3, 6, 7]);
				expect(result.expired).toEqual([]);
				expect(result.events.map((event) => event.topic)).toEqual(['a', 'b', 'a', 'b', 'a']);
				expect(result.events[2]).toMatchObject({ session: 's1', topic: 'a' });
			});

			it('never shows one session’s events to another', async () => {
				const store = await scene();
				const cursors = [all('a'), all('b'), all('c')];
				expect(seqs(await store.read({ session: 's2', cursors, limit: 100 }))).toEqual([
					1, 2, 4, 5, 7,
				]);
				const stranger = await store.read({ session: 'nobody', cursors, limit: 100 });
				expect(seqs(stranger)).toEqual([1, 2, 5, 7]);
				expect(stranger.events.every((event) => event.session === undefined)).toBe(true);
				const after = await store.read({
					session: 's2',
					cursors: [
						{ topic: 'a', after: 0 },
						{ topic: 'b', after: 0 },
					],
					limit: 100,
				});
				expect(seqs(after)).toEqual([1, 2, 4, 7]);
			});

			it('returns only the requested topics, session events included', async () => {
				const store = await scene();
				expect(seqs(await store.read({ session: 's1', cursors: [all('a')], limit: 100 }))).toEqual([
					1, 3, 7,
				]);
				expect(seqs(await store.read({ session: 's1', cursors: [all('b')], limit: 100 }))).toEqual([
					2, 6,
				]);
				expect(await store.read({ session: 's1', cursors: [], limit: 100 })).toEqual({
					events: [],
					expired: [],
				});
				expect(
					seqs(await store.read({ session: 's1', cursors: [all('unknown')], limit: 100 })),
				).toEqual([]);
			});

			it('starts each topic after its own `after` cursor', async () => {
				const store = await scene();
				const read = (cursors: TopicCursor[]) =>
					store.read({ session: 's1', cursors, limit: 100 }).then(seqs);
				expect(
					await read([
						{ topic: 'a', after: 3 },
						{ topic: 'b', after: 1 },
					]),
				).toEqual([2, 6, 7]);
				expect(
					await read([
						{ topic: 'a', after: 0 },
						{ topic: 'b', after: 2 },
					]),
				).toEqual([1, 3, 6, 7]);
				expect(await read([{ topic: 'a', after: 7 }])).toEqual([]);
				expect(await read([{ topic: 'c', after: 4 }])).toEqual([5]);
				expect(await read([{ topic: 'c', after: 5 }])).toEqual([]);
			});

			it('reads the last N of a topic across its log and the session’s own events', async () => {
				const store = await scene();
				const read = (session: string, cursors: TopicCursor[]) =>
					store.read({ session, cursors, limit: 100 }).then(seqs);
				expect(await read('s1', [{ topic: 'a', last: 2 }])).toEqual([3, 7]);
				expect(await read('s1', [{ topic: 'a', last: 1 }])).toEqual([7]);
				expect(await read('s1', [{ topic: 'a', last: 3 }])).toEqual([1, 3, 7]);
				expect(await read('s1', [{ topic: 'a', last: 50 }])).toEqual([1, 3, 7]);
				// Another session's events are not part of s1's window, so they do not use it up.
				expect(await read('s2', [{ topic: 'a', last: 2 }])).toEqual([4, 7]);
				expect(await read('nobody', [{ topic: 'a', last: 2 }])).toEqual([1, 7]);
				expect(await read('s1', [{ topic: 'b', last: 1 }])).toEqual([6]);
			});

			it('reads everything for `last: Infinity` and nothing for `last: 0`', async () => {
				const store = await scene();
				const read = (cursors: TopicCursor[]) =>
					store.read({ session: 's1', cursors, limit: 100 }).then(seqs);
				expect(await read([all('a')])).toEqual([1, 3, 7]);
				expect(await read([{ topic: 'a', last: 0 }])).toEqual([]);
				expect(await read([{ topic: 'a', last: 0 }, all('b')])).toEqual([2, 6]);
			});

			it('mixes `after` and `last` cursors in one read', async () => {
				const store = await scene();
				const result = await store.read({
					session: 's1',
					cursors: [
						{ topic: 'a', last: 1 },
						{ topic: 'b', after: 2 },
						{ topic: 'c', after: 0 },
					],
					limit: 100,
				});
				expect(seqs(result)).toEqual([5, 6, 7]);
			});

			it('reads the union of `after` and `last` for a cursor with both, each event once', async () => {
				const store = await scene();
				const read = (cursor: TopicCursor) =>
					store.read({ session: 's1', cursors: [cursor], limit: 100 });
				// a visible to s1: 1, 3, 7. The last 1 is 7; after 2 is 3 and 7.
				expect(seqs(await read({ topic: 'a', after: 2, last: 1 }))).toEqual([3, 7]);
				// The last 2 (3, 7) reach below `after: 5`.
				expect(seqs(await read({ topic: 'a', after: 5, last: 2 }))).toEqual([3, 7]);
				expect(seqs(await read({ topic: 'a', after: 7, last: 0 }))).toEqual([]);
				expect(seqs(await read({ topic: 'a', after: 7, last: Number.POSITIVE_INFINITY }))).toEqual([
					1, 3, 7,
				]);
			});

			it('pages by `limit`, the lowest seq first', async () => {
				const store = await scene();
				const session = 's1';
				const first = await store.read({ session, cursors: [all('a'), all('b')], limit: 2 });
				expect(seqs(first)).toEqual([1, 2]);
				const next = (after: number, limit: number) =>
					store
						.read({
							session,
							cursors: [
								{ topic: 'a', after },
								{ topic: 'b', after },
							],
							limit,
						})
						.then(seqs);
				expect(await next(2, 2)).toEqual([3, 6]);
				expect(await next(6, 2)).toEqual([7]);
				expect(await next(7, 2)).toEqual([]);
				expect(await next(0, 1)).toEqual([1]);
			});
		});

		describe('bounds', () => {
			/** What making a store with `options` throws (or its factory rejects with); none if it is made. */
			async function refusal(options: Partial<StoreFactoryOptions>): Promise<unknown> {
				try {
					await open(options);
				} catch (error) {
					return error;
				}
				return undefined;
			}

			function expectConfigError(error: unknown, message: RegExp, name: string): void {
				expect(error, name).toBeInstanceOf(RangeError);
				expect(error, name).toBeInstanceOf(SSEConfigError);
				expect((error as SSEConfigError).code, name).toBe('invalid_option');
				expect((error as Error).message, name).toMatch(message);
			}

			it('refuses, as it is made, bounds it cannot work with', async () => {
				for (const key of ['maxLength', 'maxAgeMs', 'sessionTtlMs', 'maxSessions'] as const) {
					for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
						const name = `${key}=${value}`;
						expectConfigError(
							await refusal({ [key]: value }),
							new RegExp(`${key} must be a positive`),
							name,
						);
					}
				}
				// Counts are whole: a ring buffer of 1.5 events would fail later, far from the mistake.
				expectConfigError(
					await refusal({ maxLength: 1.5 }),
					/maxLength must be a positive integer/,
					'maxLength=1.5',
				);
				expectConfigError(
					await refusal({ maxSessions: 2.5 }),
					/maxSessions must be a positive integer/,
					'maxSessions=2.5',
				);
				expectConfigError(
					await refusal({ maxAgeMs: 0 }),
					/maxAgeMs must be a positive number of ms/,
					'maxAgeMs=0',
				);
			});
		});

		describe('bounds by count', () => {
			it('keeps the newest maxLength events per topic log, each topic on its own', async () => {
				const store = await open({ maxLength: 3 });
				for (let i = 0; i < 5; i++) await publish(store, 'a'); // 1..5
				await publish(store, 'b'); // 6
				await publish(store, 'b'); // 7
				const cursors: TopicCursor[] = [
					{ topic: 'a', last: Number.POSITIVE_INFINITY },
					{ topic: 'b', last: Number.POSITIVE_INFINITY },
				];
				expect(seqs(await store.read({ session: 'x', cursors, limit: 100 }))).toEqual([
					3, 4, 5, 6, 7,
				]);
				expect((await store.stats()).events).toBe(5);
			});

			it('keeps the newest maxLength events per session buffer, across its topics', async () => {
				const store = await open({ maxLength: 3 });
				for (const topic of ['a', 'b', 'a', 'b', 'a']) await publish(store, topic, 's1'); // 1..5
				await publish(store, 'a', 's2'); // 6
				await publish(store, 'b', 's2'); // 7
				await publish(store, 'a'); // 8: the topic log has its own bound
				const cursors: TopicCursor[] = [
					{ topic: 'a', after: 0 },
					{ topic: 'b', after: 0 },
				];
				expect(seqs(await store.read({ session: 's1', cursors, limit: 100 }))).toEqual([
					3, 4, 5, 8,
				]);
				expect(seqs(await store.read({ session: 's2', cursors, limit: 100 }))).toEqual([6, 7, 8]);
				expect((await store.stats()).events).toBe(6);
			});
		});

		describe('expired', () => {
			it('names a topic whose position is older than what the count bound dropped', async () => {
				const store = await open({ maxLength: 3 });
				for (let i = 0; i < 5; i++) await publish(store, 'a'); // 1..5; 1 and 2 dropped
				await publish(store, 'b'); // 6
				const read = (cursors: TopicCursor[]) => store.read({ session: 's1', cursors, limit: 100 });
				const lost = await read([{ topic: 'a', after: 0 }]);
				expect(lost.expired).toEqual(['a']);
				expect(seqs(lost)).toEqual([3, 4, 5]); // what remains still comes
				expect((await read([{ topic: 'a', after: 1 }])).expired).toEqual(['a']);
				// The client had seq 2, the last one dropped: it missed nothing.
				expect((await read([{ topic: 'a', after: 2 }])).expired).toEqual([]);
				expect((await read([{ topic: 'a', after: 5 }])).expired).toEqual([]);
				expect((await read([{ topic: 'b', after: 0 }])).expired).toEqual([]);
				expect(
					(
						await read([
							{ topic: 'a', after: 0 },
							{ topic: 'b', after: 0 },
						])
					).expired,
				).toEqual(['a']);
			});

			it('is reported for the `after` of a cursor that has `last` too', async () => {
				const store = await open({ maxLength: 3 });
				for (let i = 0; i < 5; i++) await publish(store, 'a'); // 1..5; 1 and 2 dropped
				const result = await store.read({
					session: 's1',
					cursors: [{ topic: 'a', after: 1, last: 1 }],
					limit: 100,
				});
				expect(result.expired).toEqual(['a']);
				expect(seqs(result)).toEqual([3, 4, 5]);
			});

			it('is never reported for a `last` cursor', async () => {
				const store = await open({ maxLength: 2 });
				for (let i = 0; i < 5; i++) await publish(store, 'a');
				for (const last of [0, 1, 2, Number.POSITIVE_INFINITY]) {
					const result = await store.read({
						session: 's1',
						cursors: [{ topic: 'a', last }],
						limit: 100,
					});
					expect(result.expired).toEqual([]);
				}
			});

			it('counts drops from the session’s own buffer, not from other sessions’', async () => {
				const store = await open({ maxLength: 3 });
				for (let i = 0; i < 4; i++) await publish(store, 'c', 's1'); // 1..4; 1 dropped
				for (let i = 0; i < 5; i++) await publish(store, 'd', 's2'); // 5..9; 5, 6 dropped
				const read = (session: string, cursors: TopicCursor[]) =>
					store.read({ session, cursors, limit: 100 });
				expect((await read('s1', [{ topic: 'c', after: 0 }])).expired).toEqual(['c']);
				expect((await read('s1', [{ topic: 'c', after: 1 }])).expired).toEqual([]);
				expect((await read('s2', [{ topic: 'c', after: 0 }])).expired).toEqual([]);
				expect((await read('s1', [{ topic: 'd', after: 0 }])).expired).toEqual([]);
				expect((await read('s2', [{ topic: 'd', after: 5 }])).expired).toEqual(['d']);
				expect((await read('s2', [{ topic: 'd', after: 6 }])).expired).toEqual([]);
			});

			it.skipIf(!features.injectableClock)(
				features.injectableClock
					? 'names a topic whose position is older than what the age bound dropped'
					: 'names a topic whose position is older than what the age bound dropped (skipped: this store does not accept an injected clock, and a real-time wait would be slow and flaky)',
				async () => {
					let time = 1_000_000;
					const store = await open({ maxAgeMs: 1000, now: () => time });
					await publish(store, 'a'); // 1
					await publish(store, 'a'); // 2
					await publish(store, 'a', 's1'); // 3
					time += 600;
					await publish(store, 'a'); // 4
					await publish(store, 'a', 's1'); // 5
					time += 900; // 1..3 are 1500 ms old, 4 and 5 only 900
					const read = (session: string, cursors: TopicCursor[]) =>
						store.read({ session, cursors, limit: 100 });
					const all: TopicCursor = { topic: 'a', last: Number.POSITIVE_INFINITY };
					expect(seqs(await read('s1', [all]))).toEqual([4, 5]);
					expect((await read('s1', [{ topic: 'a', after: 0 }])).expired).toEqual(['a']);
					// seq 3 (s1's own) was dropped: s1 at 2 missed it; another session did not.
					expect((await read('s1', [{ topic: 'a', after: 2 }])).expired).toEqual(['a']);
					expect((await read('s2', [{ topic: 'a', after: 2 }])).expired).toEqual([]);
					expect((await read('s1', [{ topic: 'a', after: 3 }])).expired).toEqual([]);
					expect((await read('s1', [{ topic: 'a', after: 5 }])).expired).toEqual([]);
				},
			);
		});

		describe.skipIf(!features.injectableClock)('forgotten sessions', () => {
			/** A store on a clock the test moves, whose sessions are forgotten after 10 s idle. */
			async function clocked(options: Partial<StoreFactoryOptions> = {}) {
				const clock = { time: 1_000_000 };
				const store = await open({ sessionTtlMs: 10_000, now: () => clock.time, ...options });
				const read = (session: string, cursors: TopicCursor[]) =>
					store.read({ session, cursors, limit: 100 });
				return { store, clock, read };
			}
			const record = (connection: string, from: number): CursorRecord => ({
				connection,
				topics: ['a', 'b'],
				from,
				to: null,
			});

			it('names the topics of its own events that went with it, for a position older than them', async () => {
				const { store, clock, read } = await clocked();
				await publish(store, 'a', 's1'); // 1
				await publish(store, 'a', 's1'); // 2
				await publish(store, 'b'); // 3
				await store.setCursorRecord('s1', { ...record('c1', 0), to: 3 });
				clock.time += 20_000; // s1 is idle past its TTL
				await publish(store, 'b'); // 4
				expect(await store.cursorRecords('s1')).toBeNull();
				expect(await read('s1', [{ topic: 'a', after: 0 }])).toEqual({
					events: [],
					expired: ['a'],
				});
				expect((await read('s1', [{ topic: 'a', after: 1 }])).expired).toEqual(['a']);
				// Nothing after 2 was s1's own: a client at 2 lost nothing.
				expect((await read('s1', [{ topic: 'a', after: 2 }])).expired).toEqual([]);
				// Broadcast topics are kept apart from sessions: b lost nothing.
				const b = await read('s1', [{ topic: 'b', after: 0 }]);
				expect({ seqs: seqs(b), expired: b.expired }).toEqual({ seqs: [3, 4], expired: [] });
			});

			it('still names them once the session is made again, by another tab or a publish', async () => {
				for (const remake of ['tab', 'publish'] as const) {
					const { store, clock, read } = await clocked();
					await publish(store, 'a', 's1'); // 1
					await publish(store, 'b', 's1'); // 2
					clock.time += 20_000;
					if (remake === 'tab') await store.setCursorRecord('s1', record('c2', 2));
					const fresh = await publish(store, 'a', 's1'); // 3
					expect(await read('s1', [{ topic: 'a', after: 0 }]), remake).toEqual({
						events: [fresh],
						expired: ['a'],
					});
					expect((await read('s1', [{ topic: 'b', after: 1 }])).expired, remake).toEqual(['b']);
					expect(await read('s1', [{ topic: 'a', after: 2 }]), remake).toEqual({
						events: [fresh],
						expired: [],
					});
				}
			});

			it('gives no gap to a session made after the loss, at its own positions', async () => {
				const { store, clock, read } = await clocked();
				await publish(store, 'a', 's1'); // 1
				await publish(store, 'a', 's1'); // 2
				clock.time += 20_000;
				await publish(store, 'a'); // 3
				await store.setCursorRecord('s2', record('c1', 3)); // a new client, at head 3
				await publish(store, 'a', 's2'); // 4
				const own = await read('s2', [{ topic: 'a', after: 3 }]);
				expect({ seqs: seqs(own), expired: own.expired }).toEqual({ seqs: [4], expired: [] });
				expect((await read('s2', [{ topic: 'a', after: 2 }])).expired).toEqual([]);
				// A session the store does not know may be a forgotten one: it is told, to be safe.
				expect((await read('nobody', [{ topic: 'a', after: 1 }])).expired).toEqual(['a']);
				expect((await read('nobody', [{ topic: 'a', after: 2 }])).expired).toEqual([]);
			});
		});

		describe.skipIf(!features.injectableClock)('session cap', () => {
			async function clocked(maxSessions: number) {
				const clock = { time: 1_000_000 };
				const store = await open({ maxSessions, now: () => clock.time });
				return { store, clock };
			}
			const closed = (connection: string): CursorRecord => ({
				connection,
				topics: ['a'],
				from: 0,
				to: 0,
			});
			const opened = (connection: string): CursorRecord => ({
				...closed(connection),
				to: null,
			});

			it('keeps at most maxSessions, forgetting the longest idle first', async () => {
				const { store, clock } = await clocked(3);
				for (const id of ['s1', 's2', 's3']) {
					await store.setCursorRecord(id, closed('c'));
					clock.time += 1;
				}
				await store.read({ session: 's1', cursors: [], limit: 1 }); // s1 is now the freshest
				clock.time += 1;
				await store.setCursorRecord('s4', closed('c'));
				expect(await store.cursorRecords('s2')).toBeNull();
				expect((await store.stats()).sessions).toBe(3);
				clock.time += 1;
				await store.append({ topic: 'a', data: '1', session: 's5' }); // next idlest: s3
				expect(await store.cursorRecords('s3')).toBeNull();
				for (const id of ['s1', 's4', 's5']) expect(await store.cursorRecords(id)).not.toBeNull();
				expect((await store.stats()).sessions).toBe(3);
			});

			it('never forgets an open session to make room', async () => {
				const { store, clock } = await clocked(2);
				await store.setCursorRecord('live', opened('c1')); // the idlest, but open
				clock.time += 1;
				await store.setCursorRecord('s2', closed('c'));
				clock.time += 1;
				await store.setCursorRecord('s3', closed('c'));
				expect(await store.cursorRecords('live')).toEqual([opened('c1')]);
				expect(await store.cursorRecords('s2')).toBeNull();
				// When every session is open there is nothing to evict: the cap yields to them.
				clock.time += 1;
				await store.setCursorRecord('s3', opened('c2'));
				await store.setCursorRecord('s4', opened('c3'));
				expect((await store.stats()).sessions).toBe(3);
				for (const id of ['live', 's3', 's4']) expect(await store.cursorRecords(id)).not.toBeNull();
			});

			it('tells a session forgotten to make room what it lost', async () => {
				const { store, clock } = await clocked(2);
				await publish(store, 'a', 's1'); // 1
				clock.time += 1;
				await store.setCursorRecord('s2', closed('c'));
				clock.time += 1;
				await store.setCursorRecord('s3', closed('c')); // s1 goes
				expect(await store.cursorRecords('s1')).toBeNull();
				const read = (after: number) =>
					store.read({ session: 's1', cursors: [{ topic: 'a', after }], limit: 10 });
				expect(await read(0)).toEqual({ events: [], expired: ['a'] });
				expect(await read(1)).toEqual({ events: [], expired: [] });
			});
		});

		describe('idempotency keys', () => {
			const all = (topic: string): TopicCursor => ({ topic, last: Number.POSITIVE_INFINITY });

			it('stores an event once per key, and answers a repeat with the first event', async () => {
				const store = await open();
				const first = await store.append({ topic: 'a', data: '{"n":1}', idempotencyKey: 'hook-1' });
				expect(first.duplicate).toBeUndefined();
				const again = await store.append({ topic: 'a', data: '{"n":1}', idempotencyKey: 'hook-1' });
				expect(again).toEqual({ ...first, duplicate: true });
				// The key names the event, whatever comes with it the second time.
				const other = await store.append({
					topic: 'b',
					data: '{"n":2}',
					session: 's1',
					idempotencyKey: 'hook-1',
				});
				expect(other).toEqual({ ...first, duplicate: true });
				expect(await store.head()).toBe(1);
				const next = await store.append({ topic: 'a', data: '{"n":1}', idempotencyKey: 'hook-2' });
				expect(next.seq).toBe(2);
				const plain = [
					await store.append({ topic: 'a', data: '{"n":1}' }),
					await store.append({ topic: 'a', data: '{"n":1}' }),
				];
				expect(seqs(plain)).toEqual([3, 4]);
				const { events } = await store.read({
					session: 's1',
					cursors: [all('a'), all('b')],
					limit: 10,
				});
				expect(events).toEqual([first, next, ...plain]);
			});

			it('answers with the first event of a session, session included', async () => {
				const store = await open();
				const first = await store.append({
					topic: 'a',
					data: '"x"',
					session: 's1',
					idempotencyKey: 'k',
				});
				expect(await store.append({ topic: 'a', data: '"x"', idempotencyKey: 'k' })).toEqual({
					...first,
					duplicate: true,
				});
			});

			it('stores one event when the same key comes many times at once', async () => {
				const store = await open();
				const results = await Promise.all(
					Array.from({ length: 12 }, (_, i) =>
						store.append({ topic: 'a', data: String(i), idempotencyKey: 'race' }),
					),
				);
				expect(new Set(results.map((event) => event.id)).size).toBe(1);
				expect(results.filter((event) => !event.duplicate)).toHaveLength(1);
				expect(await store.head()).toBe(1);
			});

			it('refuses a key that is empty, too long or not a string', async () => {
				const store = await open();
				for (const idempotencyKey of ['', 'k'.repeat(201), 42 as unknown as string]) {
					await expect(
						store.append({ topic: 'a', data: '1', idempotencyKey }),
						String(idempotencyKey),
					).rejects.toThrow(/idempotencyKey must/);
				}
				await store.append({ topic: 'a', data: '1', idempotencyKey: 'k'.repeat(200) });
				expect(await store.head()).toBe(1);
			});

			it.skipIf(!features.injectableClock)(
				'forgets a key once its first event is older than maxAgeMs',
				async () => {
					let time = 1_000_000;
					const store = await open({ maxAgeMs: 1000, now: () => time });
					const first = await store.append({ topic: 'a', data: '1', idempotencyKey: 'k' });
					time += 1000;
					expect((await store.append({ topic: 'a', data: '1', idempotencyKey: 'k' })).id).toBe(
						first.id,
					);
					time += 1;
					const anew = await store.append({ topic: 'a', data: '1', idempotencyKey: 'k' });
					expect(anew).toMatchObject({ seq: 2 });
					expect(anew.duplicate).toBeUndefined();
				},
			);
		});

		it('agrees with a reference model over a random workload', async () => {
			const maxLength = 4;
			const store = await open({ maxLength });
			const model = new ReferenceModel(maxLength);
			const next = random(20240611);
			const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
			const topics = ['a', 'b', 'c'];
			const appendSessions = [undefined, undefined, undefined, 's1', 's2'];
			const readSessions = ['s1', 's2', 's3'];
			for (let step = 0; step < 120; step++) {
				const topic = pick(topics);
				const session = pick(appendSessions);
				const data = JSON.stringify({ step });
				const stored = await store.append({ topic, data, session });
				expect(stored.seq).toBe(model.append(topic, data, session).seq);
				if (step % 3 !== 2) continue;
				for (let probe = 0; probe < 4; probe++) {
					const wanted = topics.filter(() => next() < 0.6);
					const cursors: TopicCursor[] = wanted.map((topic) => {
						const roll = next();
						if (roll < 0.5) return { topic, after: Math.floor(next() * (model.head + 1)) };
						if (roll < 0.65) return { topic, last: Number.POSITIVE_INFINITY };
						return { topic, last: Math.floor(next() * 7) };
					});
					const reader = pick(readSessions);
					const limit = pick([1, 2, 3, 5, 100]);
					const actual = await store.read({ session: reader, cursors, limit });
					const expected = model.read(reader, cursors, limit);
					const context = JSON.stringify({ step, reader, cursors, limit });
					expect(
						actual.events.map((event) => ({
							seq: event.seq,
							topic: event.topic,
							session: event.session ?? null,
							data: event.data,
						})),
						context,
					).toEqual(expected.events);
					expect([...actual.expired].sort(), context).toEqual(expected.expired);
				}
			}
		});

		describe('cursor records', () => {
			const byConnection = (records: CursorRecord[] | null) =>
				records && [...records].sort((x, y) => x.connection.localeCompare(y.connection));

			it('knows no records of a session it has never seen', async () => {
				const store = await open();
				expect(await store.cursorRecords('nobody')).toBeNull();
			});

			it('adds records, and replaces one by its connection id', async () => {
				const store = await open();
				await store.setCursorRecord('s1', record('c1', ['a', 'b'], 0, null));
				expect(await store.cursorRecords('s1')).toEqual([record('c1', ['a', 'b'], 0, null)]);
				await store.setCursorRecord('s1', record('c2', ['a'], 3, 7));
				expect(byConnection(await store.cursorRecords('s1'))).toEqual([
					record('c1', ['a', 'b'], 0, null),
					record('c2', ['a'], 3, 7),
				]);
				// c1 closes at 9 with a changed topic list: replaced, not added.
				await store.setCursorRecord('s1', record('c1', ['a', 'b', 'c'], 0, 9));
				expect(byConnection(await store.cursorRecords('s1'))).toEqual([
					record('c1', ['a', 'b', 'c'], 0, 9),
					record('c2', ['a'], 3, 7),
				]);
				expect(await store.cursorRecords('s2')).toBeNull();
			});

			it('keeps each session’s records apart', async () => {
				const store = await open();
				await store.setCursorRecord('s1', record('c1', ['a'], 0, null));
				await store.setCursorRecord('s2', record('c1', ['b'], 2, 4));
				expect(await store.cursorRecords('s1')).toEqual([record('c1', ['a'], 0, null)]);
				expect(await store.cursorRecords('s2')).toEqual([record('c1', ['b'], 2, 4)]);
			});

			it('hands out copies: changing what it returned changes nothing stored', async () => {
				const store = await open();
				await store.setCursorRecord('s1', record('c1', ['a'], 0, null));
				const records = (await store.cursorRecords('s1')) as CursorRecord[];
				(records[0] as CursorRecord).to = 99;
				records.push(record('c9', [], 0, 0));
				expect(await store.cursorRecords('s1')).toEqual([record('c1', ['a'], 0, null)]);
			});
		});

		describe('stats', () => {
			it('starts empty', async () => {
				const store = await open();
				expect(await store.stats()).toEqual({
					epoch: await store.epoch(),
					head: 0,
					sessions: 0,
					events: 0,
				});
			});

			it('counts sessions, retained events and the head', async () => {
				const store = await open({ maxLength: 2 });
				await store.setCursorRecord('s1', {
					connection: 'c1',
					topics: ['a'],
					from: 0,
					to: null,
				});
				await publish(store, 'a', 's2');
				await publish(store, 'a');
				await publish(store, 'b');
				await publish(store, 'a');
				await publish(store, 'a'); // evicts the first 'a'
				expect(await store.stats()).toEqual({
					epoch: await store.epoch(),
					head: 5,
					sessions: 2,
					events: 4,
				});
			});
		});
	});
}
