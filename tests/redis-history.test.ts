/**
 * What `redisHistory` promises a deployment, seen from a client: real HTTP servers, real
 * `eventsource` clients, a real Redis (the shared one, or a private redis-server that a test
 * kills and restarts, with the persistence it needs).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RedisHistoryOptions, redisHistory } from '../src/lib/server/history/redis.js';
import type { HistoryStore } from '../src/lib/server/history/store.js';
import { createSSEHub, type SSEHub } from '../src/lib/server/index.js';
import { serveHandler, type TestServer } from './helpers/hub-server.js';
import {
	type AdminClient,
	cleanUp,
	connectAdmin,
	keysOf,
	REDIS_URL,
	stopRedis,
} from './helpers/redis-server.js';
import { openClient, type TestClient } from './helpers/sse-client.js';

type Topics = { chat: { n: number } };

const RUN = `sse-history:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
let prefixCount = 0;

let admin: AdminClient;
beforeAll(async () => {
	admin = await connectAdmin();
});
afterAll(async () => {
	if (!admin?.isOpen) return;
	const left = await keysOf(admin, `${RUN}:`);
	if (left.length > 0) await admin.del(left);
	await admin.close();
});

const closers: Array<() => Promise<void> | void> = [];
const prefixes: string[] = [];
const redisServers: ChildProcess[] = [];
const tempDirs: string[] = [];
afterEach(async () => {
	for (const close of closers.splice(0).reverse()) await close();
	for (const child of redisServers.splice(0)) await stopRedis(child);
	for (const prefix of prefixes.splice(0)) await cleanUp(admin, prefix);
	for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

function newPrefix(): string {
	const prefix = `${RUN}:${++prefixCount}:`;
	prefixes.push(prefix);
	return prefix;
}

/** A hub on `store`, served over HTTP, closed (store included) after the test. */
async function serve(store: HistoryStore): Promise<{ hub: SSEHub<Topics>; origin: string }> {
	const hub = createSSEHub<Topics>({ topics: ['chat'], history: store, closeOnSignals: false });
	const server: TestServer = await serveHandler(hub.handler());
	closers.push(async () => {
		await hub.close();
		await server.close();
		await store.close();
	});
	return { hub, origin: server.origin };
}

function track(client: TestClient): TestClient {
	closers.push(() => client.close());
	return client;
}

function store(options: RedisHistoryOptions = {}): HistoryStore {
	return redisHistory({ url: REDIS_URL, prefix: newPrefix(), ...options });
}

describe('redisHistory sessions', () => {
	it('keeps at most maxSessions under a flood of cookie-less connects', async () => {
		const history = store({ maxSessions: 10 });
		const { hub, origin } = await serve(history);
		const prefix = prefixes[0] as string;
		for (let i = 0; i < 40; i++) {
			const client = track(openClient(`${origin}/?topics=chat`, ['chat'])); // no cookie: a new session
			await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
			client.close();
		}
		await hub.publish('chat', { n: 1 });
		expect((await hub.stats()).sessions).toBeLessThanOrEqual(10);
		expect(await admin.zCard(`${prefix}sessions`)).toBeLessThanOrEqual(10);
		expect((await keysOf(admin, `${prefix}r:`)).length).toBeLessThanOrEqual(10);
	});
});
