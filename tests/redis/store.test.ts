// `redisHistory` against a real Redis (REDIS_URL, default redis://127.0.0.1:6379): the shared
// contract suite, then what only a store shared by several processes has to prove. Every store
// gets its own key prefix; after each test its keys are checked for a TTL, then deleted.
import { createServer, type Server } from 'node:net';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import { SSEConfigError } from '../../src/lib/server/errors.js';
import type {
	CursorRecord,
	HistoryStore,
	StoredEvent,
	TopicCursor,
} from '../../src/lib/server/history/index.js';
import {
	RedisHistoryError,
	type RedisHistoryOptions,
	redisHistory,
} from '../../src/lib/server/history/redis/index.js';
import { parseEventId } from '../../src/lib/server/wire/index.js';
import { describeHistoryStore } from '../../src/lib/testing/store-contract.js';
import {
	cleanUp as cleanUpPrefix,
	freePort,
	keysOf as keysOfPrefix,
	REDIS_URL,
	sharedRedis,
	startRedis,
	stopRedis,
} from '../helpers/redis-server.js';

const redisRun = sharedRedis('sse-test');
const newPrefix = redisRun.newPrefix;

const keysOf = (prefix: string) => keysOfPrefix(redisRun.admin, prefix);
const cleanUp = (prefix: string) => cleanUpPrefix(redisRun.admin, prefix);

const contractPrefixes = new WeakMap<HistoryStore, string>();

// The contract, once with a connection of the store's own and once with a client it is given.
for (const [how, connection] of [
	['own connection', () => ({ url: REDIS_URL })],
	['shared client', () => ({ client: redisRun.admin })],
] as const) {
	describeHistoryStore(
		`redisHistory (${how})`,
		(options) => {
			const prefix = newPrefix();
			const store = redisHistory({ ...connection(), prefix, ...options });
			contractPrefixes.set(store, prefix);
			return store;
		},
		async (store) => {
			await store.close();
			await cleanUp(contractPrefixes.get(store) as string);
		},
		{ injectableClock: true },
	);
}

/** `make` throws the error of an option that cannot work: an `SSEConfigError`, so a `RangeError`. */
function expectConfigError(make: () => unknown, message: RegExp, name = String(message)): void {
	expect(make, name).toThrow(RangeError);
	expect(make, name).toThrow(SSEConfigError);
	expect(make, name).toThrow(expect.objectContaining({ code: 'invalid_option' }));
	expect(make, name).toThrow(message);
}

/** Polls until `check` passes or `ms` run out. */
async function until(check: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
	const deadline = Date.now() + ms;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`Condition not met within ${ms} ms`);
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
}

/** Every call of the interface, for the failure tests. */
function everyCall(store: HistoryStore): Record<string, () => Promise<unknown>> {
	return {
		epoch: () => store.epoch(),
		head: () => store.head(),
		append: () => store.append({ topic: 'a', data: '1' }),
		read: () => store.read({ session: 's', cursors: [{ topic: 'a', after: 0 }], limit: 10 }),
		setCursorRecord: () =>
			store.setCursorRecord('s', { connection: 'c', topics: ['a'], from: 0, to: null }),
		cursorRecords: () => store.cursorRecords('s'),
		stats: () => store.stats(),
		listen: () => (store.listen as NonNullable<HistoryStore['listen']>)(noLive),
	};
}
const noLive = { onEvent() {}, onDoubt() {}, onResync() {} };

async function expectPromptRejection(call: () => Promise<unknown>, pattern: RegExp, name: string) {
	const started = performance.now();
	const error = await call().then(
		() => undefined,
		(reason: unknown) => reason,
	);
	const elapsed = performance.now() - started;
	expect(error, `${name} should reject`).toBeInstanceOf(RedisHistoryError);
	expect((error as RedisHistoryError).code, name).toBe('redis_unreachable');
	expect((error as Error).message, name).toMatch(pattern);
	expect(elapsed, `${name} took ${elapsed} ms`).toBeLessThan(2000);
}

describe('redisHistory', () => {
	const prefixes: string[] = [];
	const stores: HistoryStore[] = [];

	function open(options: RedisHistoryOptions = {}): HistoryStore {
		const store = redisHistory({ url: REDIS_URL, ...options });
		stores.push(store);
		return store;
	}
	/** Two stores on one prefix, each with its own connection: two processes, as Redis sees them. */
	function twoProcesses(options: RedisHistoryOptions = {}) {
		const prefix = newPrefix();
		prefixes.push(prefix);
		return [open({ ...options, prefix }), open({ ...options, prefix })] as const;
	}

	afterEach(async () => {
		for (const store of stores.splice(0)) await store.close();
		for (const prefix of prefixes.splice(0)) await cleanUp(prefix);
	});

	// The four bounds are refused by the contract suite, by the same check as memoryHistory's.
	it('refuses options it cannot work with', () => {
		for (const value of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
			expectConfigError(
				() => redisHistory({ timeoutMs: value }),
				/timeoutMs must be a positive number/,
				`timeoutMs=${value}`,
			);
		}
		expectConfigError(() => redisHistory({ prefix: '' }), /prefix must be a non-empty string/);
		expectConfigError(
			() => redisHistory({ client: redisRun.admin, url: REDIS_URL }),
			/either `client` or `url`/,
		);
	});

	it('shares one sequence, one epoch and one history between processes', async () => {
		const [a, b] = twoProcesses();
		const epoch = await a.epoch();
		expect(epoch).toMatch(/^[A-Za-z0-9_]+$/);
		expect(await b.epoch()).toBe(epoch);
		const first = await a.append({ topic: 'news', data: '"from a"' });
		const second = await b.append({ topic: 'news', data: '"from b"' });
		const own = await b.append({ topic: 'news', data: '"for s1"', session: 's1' });
		expect([first.id, second.id, own.id]).toEqual([`${epoch}-1`, `${epoch}-2`, `${epoch}-3`]);
		expect(parseEventId(second.id)).toEqual({ epoch, seq: 2 });
		for (const store of [a, b]) {
			const { events } = await store.read({
				session: 's1',
				cursors: [{ topic: 'news', after: 0 }],
				limit: 10,
			});
			expect(events).toEqual([first, second, own]);
			expect(await store.head()).toBe(3);
		}
		await b.setCursorRecord('s1', { connection: 'c1', topics: ['news'], from: 3, to: null });
		expect(await a.cursorRecords('s1')).toEqual([
			{ connection: 'c1', topics: ['news'], from: 3, to: null },
		]);
		expect(await a.stats()).toEqual({ epoch, head: 3, sessions: 1, events: 3 });
	});

	it('keeps seq strictly increasing and gapless under concurrent appends from two processes', async () => {
		const [a, b] = twoProcesses();
		const topics = ['x', 'y', 'z'];
		const appended = await Promise.all(
			Array.from({ length: 200 }, (_, i) =>
				(i % 2 ? a : b).append({
					topic: topics[i % 3] as string,
					data: String(i),
					session: i % 7 === 0 ? 's1' : undefined,
				}),
			),
		);
		const seqs = appended.map((event) => event.seq).sort((x, y) => x - y);
		expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
		const { events } = await a.read({
			session: 's1',
			cursors: topics.map((topic) => ({ topic, after: 0 })),
			limit: 1000,
		});
		expect(events.map((event) => event.seq)).toEqual(seqs);
		const bySeq = new Map(appended.map((event) => [event.seq, event]));
		for (const event of events) expect(event).toEqual(bySeq.get(event.seq));
	});

	it('starts a new epoch at seq 1 when its keys are flushed, and every process notices', async () => {
		const [a, b] = twoProcesses();
		for (let i = 0; i < 3; i++) await a.append({ topic: 'a', data: String(i) });
		await a.setCursorRecord('s1', { connection: 'c1', topics: ['a'], from: 0, to: 3 });
		const old = await b.epoch();
		await redisRun.admin.del(await keysOf(prefixes[0] as string));
		const fresh = await b.epoch();
		expect(fresh).not.toBe(old);
		expect(fresh).toMatch(/^[A-Za-z0-9_]+$/);
		expect(await a.epoch()).toBe(fresh);
		expect(await a.head()).toBe(0);
		expect(await a.cursorRecords('s1')).toBeNull();
		const event = await a.append({ topic: 'a', data: '"new"' });
		expect(event.id).toBe(`${fresh}-1`);
		const { events } = await b.read({
			session: 's1',
			cursors: [{ topic: 'a', after: 0 }],
			limit: 9,
		});
		expect(events).toEqual([event]);
	});

	it('treats a half-deleted store (epoch gone, streams left) as a new lifetime, not as history', async () => {
		const [a] = twoProcesses();
		const prefix = prefixes[0] as string;
		for (let i = 0; i < 3; i++) await a.append({ topic: 'a', data: String(i) });
		await a.append({ topic: 'a', data: '"own"', session: 's1' });
		const old = await a.epoch();
		await redisRun.admin.del(`${prefix}epoch`);
		expect(await a.epoch()).not.toBe(old);
		const all: TopicCursor = { topic: 'a', last: Number.POSITIVE_INFINITY };
		expect((await a.read({ session: 's1', cursors: [all], limit: 9 })).events).toEqual([]);
		expect((await a.append({ topic: 'a', data: '"again"' })).seq).toBe(1);
	});

	it('delivers every process’s appends in seq order over one subscriber connection', async () => {
		const [a, b] = twoProcesses();
		const prefix = prefixes[0] as string;
		const received: StoredEvent[] = [];
		const second: StoredEvent[] = [];
		const stop = await (b.listen as NonNullable<HistoryStore['listen']>)({
			onEvent: (event) => received.push(event),
			onDoubt() {},
			onResync() {},
		});
		const stopSecond = await (b.listen as NonNullable<HistoryStore['listen']>)({
			onEvent: (event) => second.push(event),
			onDoubt() {},
			onResync() {},
		});
		const channel = `${prefix}live`;
		expect(await redisRun.admin.pubSubNumSub(channel)).toEqual({ [channel]: 1 });
		const appended = await Promise.all(
			Array.from({ length: 100 }, (_, i) =>
				(i % 2 ? a : b).append({
					topic: i % 3 ? 'x' : 'y',
					data: JSON.stringify({ i, text: 'quote " slash / newline \n ünï' }),
					session: i % 5 === 0 ? `s${i % 2}` : undefined,
				}),
			),
		);
		await until(() => received.length === 100);
		expect(received.map((event) => event.seq)).toEqual(
			Array.from({ length: 100 }, (_, i) => i + 1),
		);
		const bySeq = new Map(appended.map((event) => [event.seq, event]));
		for (const event of received) expect(event).toEqual(bySeq.get(event.seq));
		expect(second).toEqual(received);
		await stopSecond();
		expect(await redisRun.admin.pubSubNumSub(channel)).toEqual({ [channel]: 1 });
		await stop();
		await stop(); // idempotent
		expect(await redisRun.admin.pubSubNumSub(channel)).toEqual({ [channel]: 0 });
	});

	it('forgets a topic idle past maxAgeMs, and still reports positions it may have left behind', async () => {
		let time = 1_000_000;
		const [a] = twoProcesses({ maxAgeMs: 1000, now: () => time });
		const prefix = prefixes[0] as string;
		await a.append({ topic: 'old', data: '1' }); // 1
		await a.append({ topic: 'old', data: '2' }); // 2
		time += 1001;
		await a.append({ topic: 'new', data: '3' }); // 3: the sweep forgets the idle stream of 'old'
		expect(await redisRun.admin.exists(`${prefix}t:old`)).toBe(0);
		const read = (topic: string, after: number) =>
			a.read({ session: 's', cursors: [{ topic, after }], limit: 9 });
		expect(await read('old', 0)).toEqual({ events: [], expired: ['old'] });
		expect(await read('old', 1)).toEqual({ events: [], expired: ['old'] });
		expect((await read('old', 2)).expired).toEqual([]);
		// A stream made again after that carries the same floor.
		const again = await a.append({ topic: 'old', data: '4' });
		expect(await read('old', 1)).toMatchObject({ events: [again], expired: ['old'] });
		expect(await read('old', 2)).toEqual({ events: [again], expired: [] });
		expect((await a.stats()).events).toBe(2);
	});

	it('keeps every open record and the newest 32 ended ones', async () => {
		const [a] = twoProcesses();
		const record = (connection: string, to: number | null): CursorRecord => ({
			connection,
			topics: ['a'],
			from: 0,
			to,
		});
		for (let i = 0; i < 3; i++) await a.setCursorRecord('s1', record(`open${i}`, null));
		for (let i = 0; i < 40; i++) await a.setCursorRecord('s1', record(`ended${i}`, i));
		const records = (await a.cursorRecords('s1')) as CursorRecord[];
		expect(records.filter((r) => r.to === null)).toHaveLength(3);
		expect(records.filter((r) => r.to !== null).map((r) => r.connection)).toEqual(
			Array.from({ length: 32 }, (_, i) => `ended${i + 8}`),
		);
		// Replacing a record moves it to the end, as memoryHistory does.
		await a.setCursorRecord('s1', record('open0', 99));
		expect(((await a.cursorRecords('s1')) as CursorRecord[]).at(-1)).toEqual(record('open0', 99));
	});

	it('forgets idle sessions, but not one with a connection open on a running process', async () => {
		const [a, b] = twoProcesses({ sessionTtlMs: 600 }); // heartbeat every 200 ms
		await a.setCursorRecord('open', { connection: 'c1', topics: ['a'], from: 0, to: null });
		await a.setCursorRecord('idle', { connection: 'c2', topics: ['a'], from: 0, to: 0 });
		await a.append({ topic: 'a', data: '1', session: 'idle' });
		await new Promise((resolve) => setTimeout(resolve, 1400));
		expect(await b.cursorRecords('idle')).toBeNull();
		expect(await b.cursorRecords('open')).toHaveLength(1);
		expect((await b.stats()).sessions).toBe(1);
		// The process holding the connection dies: nobody keeps the session alive any more.
		await a.close();
		await new Promise((resolve) => setTimeout(resolve, 1400));
		expect(await b.cursorRecords('open')).toBeNull();
		expect(await b.stats()).toMatchObject({ sessions: 0, events: 0 });
	});

	it('bounds a flood of new sessions by maxSessions, keys included', async () => {
		const [a, b] = twoProcesses({ maxSessions: 25 });
		const prefix = prefixes[0] as string;
		// What the hub does for each cookie-less connect: an open record, then the ended one.
		for (let i = 0; i < 200; i++) {
			const store = i % 2 ? a : b;
			const record = { connection: `c${i}`, topics: ['a'], from: 0, to: null };
			await store.setCursorRecord(`flood${i}`, record);
			if (i % 10 === 0) await store.append({ topic: 'a', data: String(i), session: `flood${i}` });
			await store.setCursorRecord(`flood${i}`, { ...record, to: 0 });
		}
		expect((await a.stats()).sessions).toBe(25);
		expect(await redisRun.admin.zCard(`${prefix}sessions`)).toBe(25);
		const sessionKeys = (await keysOf(prefix)).filter((key) => /:(r|s|sd):flood/.test(key));
		expect(sessionKeys.length).toBeLessThanOrEqual(25 * 3);
		// The newest are the ones kept.
		expect(await a.cursorRecords('flood199')).not.toBeNull();
		expect(await a.cursorRecords('flood100')).toBeNull();
	});

	it('counts an open session whose process stopped beating as idle when making room', async () => {
		let time = 1_000_000;
		// Heartbeats every 10 s of real time: none comes during this test.
		const [a] = twoProcesses({ maxSessions: 2, sessionTtlMs: 30_000, now: () => time });
		const open = { connection: 'c', topics: ['a'], from: 0, to: null };
		await a.setCursorRecord('crashed', open);
		time += 1;
		await a.setCursorRecord('alive', open);
		time += 1;
		await a.setCursorRecord('s3', { ...open, to: 0 }); // both open and beating: the cap yields
		expect((await a.stats()).sessions).toBe(3);
		time += 25_000; // more than two heartbeats missed by both
		await a.setCursorRecord('alive', open); // this one's process is still there
		await a.setCursorRecord('s4', { ...open, to: 0 });
		expect(await a.cursorRecords('crashed')).toBeNull();
		expect(await a.cursorRecords('alive')).not.toBeNull();
	});

	it('leaves no key without a TTL after a busy run', async () => {
		let time = 5_000_000;
		const [a, b] = twoProcesses({ maxLength: 3, maxAgeMs: 1000, now: () => time });
		const prefix = prefixes[0] as string;
		for (let i = 0; i < 40; i++) {
			time += 97;
			const store = i % 2 ? a : b;
			await store.append({
				topic: `t${i % 4}`,
				data: String(i),
				session: i % 3 ? undefined : 's1',
			});
			await store.setCursorRecord(`s${i % 5}`, { connection: `c${i}`, topics: [], from: 0, to: i });
			await store.read({ session: 's1', cursors: [{ topic: 't1', after: i - 5 }], limit: 5 });
		}
		// A session nobody touches again: only stats() finds its events aged out.
		await a.append({ topic: 't0', data: '"alone"', session: 'lonely' });
		time += 1001;
		await a.stats();
		const keys = await keysOf(prefix);
		expect(keys).toContain(`${prefix}sd:lonely`);
		expect(keys.length).toBeGreaterThan(8);
		for (const key of keys) expect(await redisRun.admin.pTTL(key), key).toBeGreaterThan(0);
	});

	it('uses a client it is given and leaves it open', async () => {
		const prefix = newPrefix();
		prefixes.push(prefix);
		const store = redisHistory({ client: redisRun.admin, prefix });
		await store.append({ topic: 'a', data: '1' });
		await store.close();
		await store.close();
		expect(await redisRun.admin.ping()).toBe('PONG');
		await expect(store.head()).rejects.toMatchObject({ code: 'store_closed' });

		const idle = createClient({ url: REDIS_URL });
		const unconnected = redisHistory({ client: idle, prefix });
		await expect(unconnected.head()).rejects.toThrow(/not connected; call client.connect\(\)/);
		await unconnected.close();
	});

	describe('when Redis cannot be reached', () => {
		it('rejects every call within 2 s with a clear error when nothing listens', async () => {
			const port = await freePort();
			const store = open({ url: `redis://:secret@127.0.0.1:${port}` });
			const pattern = new RegExp(`^Redis is unreachable at redis://127\\.0\\.0\\.1:${port}: `);
			for (const [name, call] of Object.entries(everyCall(store))) {
				await expectPromptRejection(call, pattern, name);
			}
			const error = await store.head().catch((reason: Error) => reason);
			expect((error as Error).message).not.toContain('secret');
			const started = performance.now();
			await store.close();
			expect(performance.now() - started).toBeLessThan(1000);
		});

		it('rejects within 2 s when the server accepts connections but never answers', async () => {
			const sockets = new Set<import('node:net').Socket>();
			const server: Server = createServer((socket) => sockets.add(socket));
			await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
			const { port } = server.address() as { port: number };
			try {
				const store = open({ url: `redis://127.0.0.1:${port}` });
				for (const [name, call] of Object.entries(everyCall(store))) {
					await expectPromptRejection(call, /^Redis is unreachable at /, name);
				}
			} finally {
				for (const socket of sockets) socket.destroy();
				await new Promise((resolve) => server.close(resolve));
			}
		});

		it('fails fast while Redis is down, then recovers with a new epoch and resyncs its feed', async () => {
			const port = await freePort();
			let server = await startRedis(port);
			try {
				const url = `redis://127.0.0.1:${port}`;
				const store = open({ url });
				const received: StoredEvent[] = [];
				let resyncs = 0;
				const stop = await (store.listen as NonNullable<HistoryStore['listen']>)({
					onEvent: (event) => received.push(event),
					onDoubt() {},
					onResync: () => resyncs++,
				});
				const before = await store.append({ topic: 'a', data: '1' });
				await until(() => received.length === 1);

				await stopRedis(server);
				for (const [name, call] of Object.entries(everyCall(store))) {
					await expectPromptRejection(
						call,
						/^Redis is unreachable at redis:\/\/127\.0\.0\.1/,
						name,
					);
				}

				server = await startRedis(port); // empty: no persistence
				await until(async () => {
					try {
						await store.head();
						return true;
					} catch {
						return false;
					}
				}, 10_000);
				await until(() => resyncs > 0, 10_000);
				const after = await store.append({ topic: 'a', data: '2' });
				expect(after.seq).toBe(1);
				expect(parseEventId(after.id)?.epoch).not.toBe(parseEventId(before.id)?.epoch);
				await until(() => received.length === 2);
				expect(received[1]).toEqual(after);
				await stop();
				await store.close();
			} finally {
				await stopRedis(server);
			}
		});
	});
});
