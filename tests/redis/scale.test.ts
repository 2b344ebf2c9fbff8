// Scale-out over Redis, as a deployment runs it: two "processes" (two real HTTP servers, each with
// its own hub and its own `redisHistory` with its own Redis connections) on one key prefix, real
// `eventsource` clients with a cookie jar, and a private redis-server that is killed and restarted.
import type { ChildProcess } from 'node:child_process';
import { createClient } from 'redis';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryStore } from '../../src/lib/server/history/index.js';
import type { RedisHistoryOptions } from '../../src/lib/server/history/redis/index.js';
import { redisHistory } from '../../src/lib/server/history/redis/index.js';
import { scripts } from '../../src/lib/server/history/redis/scripts.js';
import {
	createSSEHub,
	parseEventId,
	type SSEHub,
	SSEHubError,
	type SSEHubOptions,
} from '../../src/lib/server/index.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';
import { type RedisProxy, startRedisProxy } from '../helpers/redis-proxy.js';
import {
	freePort,
	REDIS_URL,
	sharedRedis,
	startRedis,
	stopRedis,
} from '../helpers/redis-server.js';
import { dataEvents, openClient, type Received, type TestClient } from '../helpers/sse-client.js';

type Topics = { chat: { n: number; from?: string }; logs: { n: number }; alerts: { n: number } };
const TOPICS = ['chat', 'logs', 'alerts'] as const;
type Topic = (typeof TOPICS)[number];

const redisRun = sharedRedis('sse-scale');

/** One "process": its own store (own Redis connections), hub and HTTP server. */
interface Node {
	name: string;
	hub: SSEHub<Topics>;
	store: HistoryStore;
	server: TestServer;
	origin: string;
	/** What the hub reported to `onError`. */
	errors: unknown[];
	close(): Promise<void>;
}

const nodes: Node[] = [];
const clients: TestClient[] = [];
const redisServers: ChildProcess[] = [];
const proxies: RedisProxy[] = [];

// Key prefixes (redisRun.testPrefix) are checked and deleted after this has run.
afterEach(async () => {
	for (const client of clients.splice(0)) client.close();
	for (const node of nodes.splice(0)) await node.close();
	for (const child of redisServers.splice(0)) await stopRedis(child);
	for (const proxy of proxies.splice(0)) await proxy.close();
});

async function startNode(
	name: string,
	store: RedisHistoryOptions,
	hub: Partial<SSEHubOptions<Topics>> = {},
): Promise<Node> {
	const errors: unknown[] = [];
	const history = redisHistory({ url: REDIS_URL, ...store });
	const sseHub = createSSEHub<Topics>({
		topics: TOPICS,
		history,
		closeOnSignals: false,
		onError: (error) => errors.push(error),
		...hub,
	});
	const server = await serveHandler(sseHub.handler());
	let closing: Promise<void> | undefined;
	const node: Node = {
		name,
		hub: sseHub,
		store: history,
		server,
		origin: server.origin,
		errors,
		close: () => {
			closing ??= (async () => {
				await server.close(); // cuts every open stream, as a process that goes away does
				await sseHub.close();
				await history.close(); // the hub does not close a store it was given
			})();
			return closing;
		},
	};
	nodes.push(node);
	return node;
}

function streamUrl(node: Node, topics: readonly Topic[], lastEventId?: string): string {
	const query = topics.map((topic) => `topics=${topic}`).join('&');
	return `${node.origin}/?${query}${lastEventId ? `&lastEventId=${lastEventId}` : ''}`;
}

/** An `eventsource` client recording every topic and control event; closed after the test. */
function open(url: string, jar?: Map<string, string>): TestClient {
	const client = openClient(url, TOPICS, jar);
	clients.push(client);
	return client;
}

const readies = (received: Received[]) => received.filter((r) => r.type === 'sse:ready');
const ids = (received: Received[]) => dataEvents(received).map((r) => r.id);
const seqOf = (id: string) => parseEventId(id)?.seq as number;
const epochOf = (id: string) => parseEventId(id)?.epoch as string;

function ready(client: TestClient, count = 1, timeoutMs?: number): Promise<void> {
	return client.until((r) => readies(r).length >= count, `sse:ready #${count}`, timeoutMs);
}

/** Rejects if `promise` does not settle within `ms`. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	return Promise.race([
		promise,
		new Promise<never>((_, reject) => {
			timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
		}),
	]).finally(() => clearTimeout(timer));
}

/** Publishes as soon as the store takes it (Redis coming back), retrying for up to 10 s. */
async function publishOnceUp<K extends Topic>(node: Node, topic: K, data: Topics[K]) {
	const deadline = Date.now() + 10_000;
	for (;;) {
		const id = await node.hub.publish(topic, data).catch((error: unknown) => {
			if (Date.now() > deadline) throw error;
			return new Promise<undefined>((resolve) => setTimeout(resolve, 50));
		});
		if (id !== undefined) return id;
	}
}

describe('two processes sharing one Redis prefix', () => {
	it('a client on either process receives what is published on the other, once each', async () => {
		const prefix = redisRun.testPrefix();
		const a = await startNode('A', { prefix });
		const b = await startNode('B', { prefix });
		const onA = open(streamUrl(a, ['chat']));
		const onB = open(streamUrl(b, ['chat']));
		await Promise.all([ready(onA), ready(onB)]);

		const fromB = await b.hub.publish('chat', { n: 1, from: 'B' });
		const fromA = await a.hub.publish('chat', { n: 2, from: 'A' });
		// A last event from each side: once it is in, anything sent twice would be in too.
		const endA = await a.hub.publish('chat', { n: 3, from: 'A' });
		const endB = await b.hub.publish('chat', { n: 4, from: 'B' });
		for (const client of [onA, onB]) {
			await client.until((r) => ids(r).includes(endB), 'the last event');
			expect(ids(client.received)).toEqual([fromB, fromA, endA, endB]);
			expect(dataEvents(client.received).map((r) => r.data)).toEqual([
				{ n: 1, from: 'B' },
				{ n: 2, from: 'A' },
				{ n: 3, from: 'A' },
				{ n: 4, from: 'B' },
			]);
		}
		// One sequence and one epoch for both processes.
		const { epoch } = await a.hub.stats();
		expect((await b.hub.stats()).epoch).toBe(epoch);
		expect([fromB, fromA, endA, endB]).toEqual([1, 2, 3, 4].map((seq) => `${epoch}-${seq}`));
		expect([...a.errors, ...b.errors]).toEqual([]);
	});

	it('a client whose process goes away resumes on the other with exactly what it missed', async () => {
		const prefix = redisRun.testPrefix();
		const a = await startNode('A', { prefix });
		const b = await startNode('B', { prefix });
		const first = open(streamUrl(a, ['chat', 'logs']));
		await ready(first);
		const session = first.jar.get('sse_session') as string;
		expect(session).toBeTruthy();
		const before = [await a.hub.publish('chat', { n: 1 }), await b.hub.publish('logs', { n: 2 })];
		await first.until((r) => ids(r).length === 2, 'the first 2 events');
		const lastId = ids(first.received).at(-1) as string;

		// A goes away: its server and hub close, cutting the stream.
		const cut = new Promise((resolve) =>
			first.source.addEventListener('error', resolve, { once: true }),
		);
		await a.close();
		await within(cut, 5000, 'the client to see its stream cut');
		first.close(); // its retry goes elsewhere: the balancer routes it to B, opened below

		const missed: string[] = [];
		missed.push(await b.hub.publish('chat', { n: 3 }));
		await b.hub.publish('alerts', { n: 4 }); // not a topic of the client
		missed.push(await b.hub.publish('logs', { n: 5 }));
		missed.push(await b.hub.publish('chat', { n: 6 }, { session })); // its session's own event
		await b.hub.publish('chat', { n: 7 }, { session: 'someone-else' });
		missed.push(await b.hub.publish('logs', { n: 8 }));

		const back = open(streamUrl(b, ['chat', 'logs'], lastId), first.jar);
		await ready(back);
		expect(back.jar.get('sse_session')).toBe(session); // same session, found in Redis by B
		expect(ids(back.received)).toEqual(missed);
		expect(readies(back.received).map((r) => r.data)).toEqual([
			{ replayed: missed.length, lastEventId: missed.at(-1) },
		]);
		expect(back.received.some((r) => r.type === 'sse:gap')).toBe(false);

		// Then live, from B and from a process that joined meanwhile.
		const c = await startNode('C', { prefix });
		const live = [await b.hub.publish('chat', { n: 9 }), await c.hub.publish('logs', { n: 10 })];
		await back.until((r) => ids(r).includes(live[1] as string), 'the live events');
		const everything = [...ids(first.received), ...ids(back.received)];
		expect(everything).toEqual([...before, ...missed, ...live]);
		expect(dataEvents(back.received).map((r) => (r.data as { n: number }).n)).toEqual([
			3, 5, 6, 8, 9, 10,
		]);
		expect([...b.errors, ...c.errors]).toEqual([]);
	});

	it('concurrent publishers on both processes: every client gets every event of its topics once, in seq order', async () => {
		const prefix = redisRun.testPrefix();
		// The late joiners below get every retained event, which the test expects them to have.
		const a = await startNode('A', { prefix }, { initialHistory: 'all' });
		const b = await startNode('B', { prefix }, { initialHistory: 'all' });
		const topicSets: readonly Topic[][] = [
			['chat'],
			['logs'],
			['alerts'],
			['chat', 'logs'],
			['chat', 'logs', 'alerts'],
		];
		const clients: Array<{ client: TestClient; topics: readonly Topic[] }> = [];
		const connect = (node: Node, topics: readonly Topic[]) =>
			clients.push({ client: open(streamUrl(node, topics)), topics });
		for (let i = 0; i < 10; i++) connect(i % 2 ? b : a, topicSets[i % 5] as Topic[]);
		await Promise.all(clients.map(({ client }) => ready(client)));

		const perPublisher = 300;
		const publishLoop = async (node: Node, offset: number) => {
			const out: Array<{ topic: Topic; id: string }> = [];
			for (let n = 0; n < perPublisher; n++) {
				const topic = TOPICS[(n + offset) % 3] as Topic;
				out.push({ topic, id: await node.hub.publish(topic, { n, from: node.name }) });
				// Two late joiners (no Last-Event-ID): the retained history, then live from both.
				if (offset === 0 && n === perPublisher / 2) {
					connect(a, ['chat', 'alerts']);
					connect(b, ['logs', 'chat']);
				}
			}
			return out;
		};
		const started = performance.now();
		const [fromA, fromB] = await Promise.all([publishLoop(a, 0), publishLoop(b, 1)]);
		const publishMs = performance.now() - started;
		const published = [...fromA, ...fromB].sort((x, y) => seqOf(x.id) - seqOf(y.id));
		// One gapless sequence, and the two loops really did interleave in it.
		expect(published.map((p) => seqOf(p.id))).toEqual(
			Array.from({ length: 2 * perPublisher }, (_, i) => i + 1),
		);
		const seqsOfA = new Set(fromA.map((p) => seqOf(p.id)));
		let switches = 0;
		for (let seq = 2; seq <= published.length; seq++)
			if (seqsOfA.has(seq) !== seqsOfA.has(seq - 1)) switches++;
		expect(switches).toBeGreaterThan(20);

		// An end marker per topic: once a client has it, a late duplicate would have arrived too.
		const markers = new Map<Topic, string>();
		for (const topic of TOPICS) markers.set(topic, await a.hub.publish(topic, { n: -1 }));
		const ordered = [...published, ...[...markers].map(([topic, id]) => ({ topic, id }))];
		for (const { client, topics } of clients) {
			const expected = ordered.filter((p) => topics.includes(p.topic)).map((p) => p.id);
			await client.until(
				(r) => topics.every((t) => ids(r).includes(markers.get(t) as string)),
				`the end markers of ${topics.join('+')}`,
				20_000,
			);
			expect(ids(client.received)).toEqual(expected);
		}
		expect(clients).toHaveLength(12);
		expect([...a.errors, ...b.errors]).toEqual([]);
		console.info(
			`[redis-scale] ${published.length} events from 2 processes in ${publishMs.toFixed(0)} ms`,
		);
	});
});

describe('when Redis fails', () => {
	it('refuses new streams and publishes with 503, keeps open streams, and resumes them after a restart', async () => {
		const port = await freePort();
		let server = await startRedis(port);
		redisServers.push(server);
		const node = await startNode(
			'A',
			{ url: `redis://127.0.0.1:${port}`, prefix: 'sse:' },
			{ limits: { keepAliveMs: 150, retryAfterSeconds: 2 } },
		);
		const client = open(streamUrl(node, ['chat']));
		let opens = 0;
		let errors = 0;
		client.source.addEventListener('open', () => opens++);
		client.source.addEventListener('error', () => errors++);
		await ready(client);
		// A second open stream read raw, to see its keep-alive comments.
		const rawAbort = new AbortController();
		const raw = await fetch(streamUrl(node, ['logs']), { signal: rawAbort.signal });
		const rawReader = (raw.body as ReadableStream<Uint8Array>).getReader();
		const decoder = new TextDecoder();
		let rawText = '';
		const rawUntil = async (pattern: RegExp, what: string) => {
			const deadline = Date.now() + 5000;
			while (!pattern.test(rawText)) {
				const { value, done } = await within(rawReader.read(), deadline - Date.now(), what);
				if (done) throw new Error(`The raw stream ended while waiting for ${what}`);
				rawText += decoder.decode(value, { stream: true });
			}
		};
		try {
			await rawUntil(/sse:ready/, 'the raw stream to be ready');
			const before = [
				await node.hub.publish('chat', { n: 1 }),
				await node.hub.publish('chat', { n: 2 }),
			];
			await client.until((r) => ids(r).length === 2, 'the events before the failure');

			await stopRedis(server);

			// A publish rejects promptly with a code to branch on and a message that says why.
			let startedAt = performance.now();
			const failed = await node.hub.publish('chat', { n: 3 }).then(
				() => undefined,
				(error: unknown) => error,
			);
			const publishMs = performance.now() - startedAt;
			expect(failed).toBeInstanceOf(SSEHubError);
			expect(failed).toMatchObject({ code: 'history_unavailable', status: 503 });
			expect((failed as Error).message).toMatch(
				new RegExp(
					`^Could not store the event: Redis is unreachable at redis://127\\.0\\.0\\.1:${port}: `,
				),
			);
			expect(publishMs).toBeLessThan(3000);

			// A new stream, fresh or resuming, is refused with 503 and Retry-After, promptly.
			for (const url of [streamUrl(node, ['chat']), streamUrl(node, ['chat'], before[1])]) {
				startedAt = performance.now();
				const response = await fetch(url);
				expect(performance.now() - startedAt).toBeLessThan(3000);
				expect(response.status).toBe(503);
				expect(response.headers.get('retry-after')).toBe('2');
				expect(await response.json()).toMatchObject({
					error: { code: 'history_unavailable', message: expect.stringMatching(/retry shortly/) },
				});
			}

			// The open streams stay open: keep-alives still flow, the client saw no error.
			rawText = '';
			await rawUntil(/^: keep-alive/m, 'a keep-alive after Redis died');
			rawText = '';
			await rawUntil(/^: keep-alive/m, 'a second keep-alive after Redis died');
			expect(client.source.readyState).toBe(client.source.OPEN);
			expect(errors).toBe(0);

			server = await startRedis(port); // empty: no persistence, so a new epoch
			redisServers.push(server);
			const after = await publishOnceUp(node, 'chat', { n: 4 });
			expect(epochOf(after)).not.toBe(epochOf(before[0] as string));
			expect(seqOf(after)).toBe(1);
			await client.until((r) => ids(r).includes(after), 'the first event after the restart');
			const live = [
				await node.hub.publish('chat', { n: 5 }),
				await node.hub.publish('chat', { n: 6 }),
			];
			await client.until((r) => ids(r).includes(live[1] as string), 'the live events');
			// What the open stream carries across the restart: the old epoch's events, an `epoch`
			// gap (Redis came back empty, so the stream's position means nothing in the new epoch
			// and events the feed had not delivered before the failure would be lost: the app should
			// refetch), then the new epoch from its first event (caught up from the new history,
			// whether it was published before or after the feed was back), then live; nothing twice.
			expect(client.received.map((r) => [r.type, r.id, r.data])).toEqual([
				['sse:ready', '', { replayed: 0, lastEventId: expect.any(String) }],
				['chat', before[0], { n: 1 }],
				['chat', before[1], { n: 2 }],
				['sse:gap', '', { reason: 'epoch', topics: ['chat'] }],
				['chat', after, { n: 4 }],
				['chat', live[0], { n: 5 }],
				['chat', live[1], { n: 6 }],
			]);
			// Its cursor record (for topic safety when it resumes) is back in the new epoch.
			expect(await node.store.cursorRecords(client.jar.get('sse_session') as string)).toEqual([
				{ connection: expect.any(String), topics: ['chat'], added: [], from: 0, to: null },
			]);
			// Same stream all along: never cut, never reconnected.
			expect(opens).toBe(1);
			expect(errors).toBe(0);
			expect(client.source.readyState).toBe(client.source.OPEN);
			// The hub logged the outage, and nothing else.
			expect(node.errors.length).toBeGreaterThan(0);
			for (const error of node.errors) expect(error).toMatchObject({ code: 'redis_unreachable' });
			expect(await node.hub.stats()).toMatchObject({ connections: 2, head: 3 });
		} finally {
			rawAbort.abort();
		}
	});

	it('catches open streams up, once each, when only the live feed was interrupted', async () => {
		const port = await freePort();
		redisServers.push(await startRedis(port));
		const url = `redis://127.0.0.1:${port}`;
		const redis = createClient({ url, socket: { reconnectStrategy: false } });
		redis.on('error', () => {});
		await redis.connect();
		try {
			const node = await startNode('A', { url, prefix: 'sse:' });
			const first = open(streamUrl(node, ['chat']));
			await ready(first);
			const before = [
				await node.hub.publish('chat', { n: 1 }),
				await node.hub.publish('chat', { n: 2 }),
			];
			await first.until((r) => ids(r).length === 2, 'the first events');
			// A second tab of the session resumes with nothing missed: a catch-up must not resend.
			const resumed = open(streamUrl(node, ['chat'], before[1]), first.jar);
			await ready(resumed);
			expect(readies(resumed.received).map((r) => r.data)).toEqual([
				{ replayed: 0, lastEventId: expect.any(String) },
			]);

			// Redis stays up and keeps its history; only the hub's subscriber connection drops.
			const channel = 'sse:live';
			expect(await redis.pubSubNumSub(channel)).toEqual({ [channel]: 1 });
			expect(await redis.sendCommand(['CLIENT', 'KILL', 'TYPE', 'pubsub'])).toBe(1);
			// Published before the feed is back (it retries after 50 ms): only history has it.
			const missed = await node.hub.publish('chat', { n: 3 });
			await expect
				.poll(() => redis.pubSubNumSub(channel), { timeout: 5000 })
				.toEqual({ [channel]: 1 });
			const live = await node.hub.publish('chat', { n: 4 });

			for (const client of [first, resumed]) {
				await client.until((r) => ids(r).includes(live), 'the live event after the resync');
			}
			expect(ids(first.received)).toEqual([...before, missed, live]);
			expect(ids(resumed.received)).toEqual([missed, live]);
			for (const client of [first, resumed]) {
				expect(client.received.some((r) => r.type === 'sse:gap')).toBe(false);
			}
			expect(node.errors).toEqual([]);
		} finally {
			await redis.close();
		}
	});

	it('a process started while Redis is down serves streams once Redis is up', async () => {
		const port = await freePort();
		const url = `redis://127.0.0.1:${port}`;
		const node = await startNode('A', { url, prefix: 'sse:' });
		const refused = await fetch(streamUrl(node, ['chat']));
		expect(refused.status).toBe(503);
		expect(await refused.json()).toMatchObject({ error: { code: 'history_unavailable' } });

		redisServers.push(await startRedis(port));
		const first = await publishOnceUp(node, 'chat', { n: 1 });
		// The hub listens again on the next connection, instead of refusing every one from now on.
		const client = open(streamUrl(node, ['chat']));
		await ready(client);
		const other = await startNode('B', { url, prefix: 'sse:' });
		const live = [
			await node.hub.publish('chat', { n: 2 }),
			await other.hub.publish('chat', { n: 3 }),
		];
		await client.until((r) => ids(r).includes(live[1] as string), 'the live events');
		expect(ids(client.received)).toEqual([first, ...live]);
		expect(node.errors.length).toBeGreaterThan(0);
		for (const error of node.errors) expect(error).toMatchObject({ code: 'redis_unreachable' });
	});
});

describe('while the live feed is in doubt', () => {
	/** Resolves when `store`'s feed brings the event `id` (what the hub's feed got too). */
	async function feedOf(store: HistoryStore) {
		const seen = new Set<string>();
		const waiters = new Set<() => void>();
		const stop = await (store.listen as NonNullable<HistoryStore['listen']>)({
			onEvent: (event) => {
				seen.add(event.id);
				for (const wake of [...waiters]) wake();
			},
			onDoubt() {},
			onResync() {},
		});
		const brought = (id: string) =>
			within(
				new Promise<void>((resolve) => {
					const check = () => {
						if (!seen.has(id)) return;
						waiters.delete(check);
						resolve();
					};
					waiters.add(check);
					check();
				}),
				5000,
				`the feed to bring ${id}`,
			);
		return { brought, stop };
	}

	/** Resolves once `count` subscriber connections (one per process) listen on the prefix's channel. */
	async function listening(prefix: string, count: number) {
		const channel = `${prefix}live`;
		await expect
			.poll(() => redisRun.admin.pubSubNumSub(channel), { timeout: 5000 })
			.toEqual({ [channel]: count });
	}

	it('holds live events until the catch-up when the subscriber connection is back before the command connection', async () => {
		const prefix = redisRun.testPrefix();
		const proxy = await startRedisProxy(REDIS_URL);
		proxies.push(proxy);
		const a = await startNode('A', { url: proxy.url, prefix });
		const b = await startNode('B', { prefix });
		const feedOfA = await feedOf(a.store);
		const client = open(streamUrl(a, ['chat']));
		await ready(client);
		const published = [await b.hub.publish('chat', { n: 1 })];
		await client.until((r) => ids(r).includes(published[0] as string), 'the first event');

		// Both of A's connections drop; neither gets back until let through.
		proxy.hold('subscriber');
		proxy.hold('command');
		proxy.cut();
		published.push(await b.hub.publish('chat', { n: 2 }));
		published.push(await b.hub.publish('chat', { n: 3 }));
		// The subscriber connection is back first: the feed brings live events again, but
		// events 2 and 3 went by while it was down, and history cannot be read yet.
		proxy.release('subscriber');
		await listening(prefix, 2);
		published.push(await b.hub.publish('chat', { n: 4 }));
		await feedOfA.brought(published[3] as string);
		proxy.release('command');

		published.push(await publishOnceUp(b, 'chat', { n: 5 }));
		await client.until((r) => ids(r).includes(published[4] as string), 'the last event');
		expect(ids(client.received)).toEqual(published);
		expect(client.received.some((r) => r.type === 'sse:gap')).toBe(false);
		await feedOfA.stop();
	});

	it('catches up a stream whose replay was being written, and one opened, while the feed was down', async () => {
		const prefix = redisRun.testPrefix();
		const proxy = await startRedisProxy(REDIS_URL);
		proxies.push(proxy);
		// Replies are held back below for a while: long enough not to count as Redis gone.
		const a = await startNode('A', { url: proxy.url, prefix, timeoutMs: 10_000 });
		const b = await startNode('B', { prefix });
		const feedOfA = await feedOf(a.store);
		const live = open(streamUrl(a, ['chat']));
		await ready(live);
		const first = await b.hub.publish('chat', { n: 1 });
		await live.until((r) => ids(r).includes(first), 'the first event');

		// A's subscriber connection drops and stays down; its command connection works.
		proxy.hold('subscriber');
		proxy.cut('subscriber');
		const opened = open(streamUrl(a, ['chat']));
		await ready(opened);
		// A client resumes from the first event; its replay reads history now (nothing new yet)
		// but hears the answer only after the feed is back.
		const frozen = proxy.freezeRepliesAfter(scripts.read.sha);
		const replaying = open(streamUrl(a, ['chat'], first));
		await within(frozen, 5000, 'the replay to read history');
		const missed = [await b.hub.publish('chat', { n: 2 }), await b.hub.publish('chat', { n: 3 })];
		proxy.release('subscriber');
		await listening(prefix, 2);
		const after = await b.hub.publish('chat', { n: 4 });
		await feedOfA.brought(after);
		proxy.thaw();

		const last = await b.hub.publish('chat', { n: 5 });
		for (const client of [live, opened, replaying]) {
			await client.until((r) => ids(r).includes(last), 'the last event');
			expect(client.received.some((r) => r.type === 'sse:gap')).toBe(false);
		}
		expect(ids(live.received)).toEqual([first, ...missed, after, last]);
		expect(ids(opened.received)).toEqual([first, ...missed, after, last]);
		// A new session: the topic is new to it, so its retained history too (the first event).
		expect(ids(replaying.received)).toEqual([first, ...missed, after, last]);
		await feedOfA.stop();
	});

	it('a store closes within its timeout when Redis stops answering', async () => {
		const proxy = await startRedisProxy(REDIS_URL);
		proxies.push(proxy);
		const timeoutMs = 300;
		const store = redisHistory({ url: proxy.url, prefix: redisRun.testPrefix(), timeoutMs });
		await store.listen?.({ onEvent() {}, onDoubt() {}, onResync() {} });
		const frozen = proxy.freezeRepliesAfter(scripts.meta.sha);
		const head = store.head().catch((error: unknown) => error);
		await within(frozen, 5000, 'the call to reach Redis');
		expect(await head).toMatchObject({ code: 'redis_unreachable' });
		// Its reply is still awaited by the connection: a close that waits for it never ends.
		const started = performance.now();
		await within(store.close(), 5000, 'the store to close');
		expect(performance.now() - started).toBeLessThan(3 * timeoutMs);
	});
});

describe('shutdown', () => {
	it("on sveltekit:shutdown the hub closes with the store's connections, and the app's own client stays open", async () => {
		const prefix = redisRun.testPrefix();
		const channel = `${prefix}live`;
		const appClient = createClient({ url: REDIS_URL });
		appClient.on('error', () => {});
		await appClient.connect();
		const history = redisHistory({ client: appClient, prefix });
		const hub = createSSEHub<Topics>({ topics: TOPICS, history }); // closeOnSignals: the default
		const server = await serveHandler(hub.handler());
		try {
			const client = open(`${server.origin}/?topics=chat`);
			await ready(client);
			expect(await redisRun.admin.pubSubNumSub(channel)).toEqual({ [channel]: 1 });

			// What adapter-node emits once its server has closed (after SIGTERM ended the streams).
			(process as NodeJS.EventEmitter).emit('sveltekit:shutdown', 'SIGTERM'); // a custom event
			await expect
				.poll(() => redisRun.admin.pubSubNumSub(channel), { timeout: 5000 })
				.toEqual({ [channel]: 0 });
			await expect(hub.publish('chat', { n: 1 })).rejects.toMatchObject({ code: 'hub_closed' });
			await expect(history.head()).rejects.toMatchObject({ code: 'store_closed' });
			expect(await appClient.ping()).toBe('PONG');
		} finally {
			await server.close();
			await hub.close();
			await appClient.close();
		}
	});
});
