// Redis for the scale-out tests: the shared server (REDIS_URL, default redis://127.0.0.1:6379)
// through an admin client that cleans key prefixes, and throwaway `redis-server` processes on a
// free port that a test can kill and restart.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import { freePort } from './free-port.js';

/** Re-exported: the Redis suites take their ports from here. */
export { freePort };

import { afterAll, beforeAll, onTestFinished } from 'vitest';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const REDIS_SERVER = process.env.REDIS_SERVER ?? '/usr/bin/redis-server';

export type AdminClient = Awaited<ReturnType<typeof connectAdmin>>;

/** A connected client on REDIS_URL; fails (never skips) when there is no Redis there. */
export async function connectAdmin() {
	const admin = createClient({
		url: REDIS_URL,
		socket: { connectTimeout: 2000, reconnectStrategy: false },
	});
	admin.on('error', () => {});
	try {
		await admin.connect();
	} catch (cause) {
		throw new Error(
			`These tests need a real Redis at ${REDIS_URL} (set REDIS_URL, or start one with ` +
				`\`redis-server --save '' --appendonly no\`): ${(cause as Error).message}`,
		);
	}
	return admin;
}

/**
 * The shared Redis for one test file: `admin` (connected before its tests), `newPrefix()`, a key
 * prefix of this run (`<name>:<run>:<n>:`), and `testPrefix()`, one that is checked and deleted as
 * soon as the running test finishes. Whatever the run leaves under them is deleted after the
 * file's tests.
 */
export function sharedRedis(name: string) {
	const run = `${name}:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
	let client: AdminClient | undefined;
	let count = 0;
	const newPrefix = () => `${run}:${++count}:`;
	beforeAll(async () => {
		client = await connectAdmin();
	});
	afterAll(async () => {
		if (!client?.isOpen) return;
		const left = await keysOf(client, `${run}:`);
		if (left.length > 0) await client.del(left);
		await client.close();
	});
	const admin = (): AdminClient => {
		if (!client) throw new Error('sharedRedis: admin is connected in beforeAll, use it in a test');
		return client;
	};
	return {
		get admin(): AdminClient {
			return admin();
		},
		newPrefix,
		/**
		 * A fresh prefix whose keys are checked for a TTL and deleted when the running test has
		 * finished (after its `afterEach` hooks, so the stores on it are closed). Call it in a test.
		 */
		testPrefix(): string {
			const prefix = newPrefix();
			onTestFinished(() => cleanUp(admin(), prefix));
			return prefix;
		},
	};
}

export async function keysOf(admin: AdminClient, prefix: string): Promise<string[]> {
	const keys: string[] = [];
	for await (const batch of admin.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
		keys.push(...batch);
	}
	return keys;
}

/** Deletes a prefix's keys; fails if any of them had no TTL (it would have lived forever). */
export async function cleanUp(admin: AdminClient, prefix: string): Promise<void> {
	const keys = await keysOf(admin, prefix);
	const untimed: string[] = [];
	for (const key of keys) if ((await admin.pTTL(key)) === -1) untimed.push(key);
	if (keys.length > 0) await admin.del(keys);
	if (untimed.length > 0) throw new Error(`Keys left without a TTL: ${untimed.join(', ')}`);
}

function accepts(port: number): Promise<boolean> {
	return new Promise((resolve) => {
		const socket = createConnection(port, '127.0.0.1');
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
	});
}

/**
 * A throwaway redis-server, accepting connections when this resolves: no persistence, unless
 * `args` (appended to the command line, so they win) ask for some, e.g. `['--dir', dir]` for a
 * `SAVE` that a restart loads.
 */
export async function startRedis(
	port: number,
	timeoutMs = 5000,
	args: readonly string[] = [],
): Promise<ChildProcess> {
	const child = spawn(
		REDIS_SERVER,
		['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', ...args],
		{ stdio: 'ignore' },
	);
	const deadline = Date.now() + timeoutMs;
	while (!(await accepts(port))) {
		if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
		if (Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
		}
		await new Promise((resolve) => setTimeout(resolve, 20));
	}
	return child;
}

/** Kills a redis-server at once (no shutdown, no save) and waits for it to be gone. */
export async function stopRedis(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((resolve) => child.once('exit', resolve));
	child.kill('SIGKILL');
	await exited;
}

export interface PersistentRedis {
	url: string;
	/** `SAVE`: writes the snapshot a restart loads. */
	save(): Promise<void>;
	/** Kills the server (no shutdown save) and starts it again on the same port and directory. */
	restart(): Promise<void>;
	/** Kills the server and deletes its directory (done when the test that started it finishes). */
	stop(): Promise<void>;
}

/**
 * A throwaway redis-server that keeps its data in a temporary directory across `restart()`: RDB
 * snapshots by `save()` only, or whatever `args` configure (`--appendonly yes`, say). Call it in a
 * test: it is stopped when the test has finished, after its `afterEach` hooks.
 */
export async function persistentRedis(args: readonly string[] = []): Promise<PersistentRedis> {
	const dir = await mkdtemp(join(tmpdir(), 'sse-redis-'));
	const port = await freePort();
	const serverArgs = ['--dir', dir, ...args];
	let child = await startRedis(port, 5000, serverArgs);
	const url = `redis://127.0.0.1:${port}`;
	const server: PersistentRedis = {
		url,
		async save() {
			const client = createClient({ url, socket: { reconnectStrategy: false } });
			client.on('error', () => {});
			await client.connect();
			await client.sendCommand(['SAVE']);
			await client.close();
		},
		async restart() {
			await stopRedis(child);
			child = await startRedis(port, 5000, serverArgs);
		},
		async stop() {
			await stopRedis(child);
			await rm(dir, { recursive: true, force: true });
		},
	};
	onTestFinished(() => server.stop());
	return server;
}

/** Calls `call` until it resolves (a Redis that is coming back), for at most `ms`. */
export async function untilResolved<T>(call: () => Promise<T>, ms = 10_000): Promise<T> {
	const deadline = Date.now() + ms;
	for (;;) {
		try {
			return await call();
		} catch (error) {
			if (Date.now() > deadline) throw error;
			await new Promise((resolve) => setTimeout(resolve, 25));
		}
	}
}
