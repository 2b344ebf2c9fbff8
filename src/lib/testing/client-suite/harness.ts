// What every test of the client suite uses: a fresh server side and clients closed after each
// test, and the few waits a test over real HTTP needs (a fake's steps hold at once).
import { afterEach, beforeEach, expect, vi } from 'vitest';
import {
	SSEClient,
	type SSEClientError,
	type SSEClientOptions,
	type SSEEventMeta,
} from '../../client/sse-client.svelte.js';
import type { ScriptedServer, ServerStream } from './scripted-server.js';

export type Topics = { chat: { n: number }; logs: { line: string }; alerts: { level: number } };

/** How long "nothing more happens" is watched: longer than any backoff the suite's clients use. */
const QUIET_MS = 150;

/** Resolves when `predicate` holds, checked now and then every few ms (a fake's holds at once). */
export async function until(what: string, predicate: () => boolean, timeoutMs = 5000) {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records what handlers receive, in order. */
export function recorder<T>() {
	const calls: Array<{ data: T; meta: SSEEventMeta }> = [];
	const handler = (data: T, meta: SSEEventMeta) => {
		calls.push({ data, meta });
	};
	return { calls, handler };
}

export function errorsOf(options: { onError?: (error: SSEClientError) => void }) {
	const errors: SSEClientError[] = [];
	options.onError = (error) => errors.push(error);
	return errors;
}
/** What the tests of the suite get: the server side of the running test, and helpers around it. */
export interface ClientSuiteHarness {
	/** The server side of the running test (a fresh one for each). */
	readonly server: ScriptedServer;
	/** A client on the server's EventSource that connects only when asked, and retries fast. */
	makeClient(options?: SSEClientOptions<Topics>, query?: string): SSEClient<Topics>;
	/** Connects `client` and accepts its stream. */
	connect(client: SSEClient<Topics>): Promise<ServerStream>;
	/** Connects, accepts, and waits for the client to see the stream open. */
	connected(client: SSEClient<Topics>): Promise<ServerStream>;
	/**
	 * Waits until the client has handled everything sent on `stream` so far: an `sse:ready` goes
	 * last, and the client leaves its replay when it reads it.
	 */
	settle(client: SSEClient<Topics>, stream: ServerStream): Promise<void>;
	/** Expects no connection attempt to reach the server for a while. */
	quiet(): Promise<void>;
}

/** Registers, in the `describe` it is called in, a fresh server side for each test and the cleanup. */
export function clientSuiteHarness(
	serve: () => Promise<ScriptedServer> | ScriptedServer,
): ClientSuiteHarness {
	let current: ScriptedServer | undefined;
	const clients: SSEClient<Topics>[] = [];
	const server = () => {
		if (!current) throw new Error('client suite: the server side exists only inside a test');
		return current;
	};

	beforeEach(async () => {
		current = await serve();
	});

	afterEach(async () => {
		for (const client of clients.splice(0)) client.close();
		vi.restoreAllMocks();
		await current?.close();
		current = undefined;
	});

	const harness: ClientSuiteHarness = {
		get server() {
			return server();
		},
		makeClient(options = {}, query = '') {
			const client = new SSEClient<Topics>(`${server().url}${query}`, {
				EventSource: server().EventSource,
				autoConnect: false,
				reconnectWait: 20,
				maxReconnectWait: 40,
				...options,
			});
			clients.push(client);
			return client;
		},
		async connect(client) {
			client.connect();
			return (await server().nextRequest()).accept();
		},
		async connected(client) {
			const stream = await harness.connect(client);
			await until('the stream to open', () => client.status === 'connected');
			return stream;
		},
		async settle(client, stream) {
			expect(client.replaying, 'settle() needs a client still in its replay').toBe(true);
			stream.emit('sse:ready', { replayed: 0 });
			await until('sse:ready', () => !client.replaying);
		},
		async quiet() {
			const before = server().requestCount;
			await sleep(QUIET_MS);
			expect(server().requestCount, 'no new connection').toBe(before);
		},
	};
	return harness;
}
