// SSEClient refused by the real hub over real HTTP (the `eventsource` package as its EventSource):
// a 400 stops it, a 429 makes it wait at least the Retry-After, which it reads with a HEAD since
// no EventSource hands a failed response's headers on.
import type { RequestHandler } from '@sveltejs/kit';
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { SSEClient } from '../../src/lib/client/index.js';
import { createSSEHub, type SSEHub } from '../../src/lib/server/index.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';

type Topics = { chat: { n: number } };

let server: TestServer | undefined;
let hub: SSEHub<Topics> | undefined;
const clients: SSEClient<Topics>[] = [];

afterEach(async () => {
	for (const client of clients.splice(0)) client.close();
	await hub?.close();
	await server?.close();
	hub = server = undefined;
});

/** The hub behind a handler that notes each request's method and when it came. */
async function start(options: Partial<Parameters<typeof createSSEHub<Topics>>[0]> = {}) {
	hub = createSSEHub<Topics>({ topics: ['chat'], closeOnSignals: false, ...options });
	const handler = hub.handler();
	const requests: Array<{ method: string; at: number }> = [];
	const noting: RequestHandler = (event) => {
		requests.push({ method: event.request.method, at: performance.now() });
		return handler(event);
	};
	server = await serveHandler(noting);
	return { url: `${server.origin}/events`, requests };
}

function client(url: string, topics: string[] = ['chat']) {
	const made = new SSEClient<Topics>(url, {
		EventSource,
		autoConnect: false,
		reconnectWait: 100,
		topics: topics as (keyof Topics)[],
	});
	clients.push(made);
	made.connect();
	return made;
}

describe('SSEClient refused by the hub', () => {
	it('stops on a 400 (a topic the hub does not serve), retrying nothing', async () => {
		const { url, requests } = await start();
		const refused = client(url, ['chat', 'weather']);
		await expect.poll(() => refused.error?.code, { timeout: 10_000 }).toBe('bad_request');
		expect(refused.status).toBe('error');
		expect(refused.replaying).toBe(false);
		const seen = requests.length;
		// A working client on the same server shows time passing: the refused one tried no more.
		const working = client(url);
		await expect.poll(() => working.status, { timeout: 10_000 }).toBe('connected');
		expect(requests.length).toBe(seen + 1);
	});

	it('waits at least the Retry-After of a 429, read with a HEAD', async () => {
		const { url, requests } = await start({
			session: () => 'one session',
			limits: { maxConnectionsPerSession: 1, retryAfterSeconds: 1 },
		});
		const first = client(url);
		await expect.poll(() => first.status, { timeout: 10_000 }).toBe('connected');
		const second = client(url);
		await expect.poll(() => second.error?.status, { timeout: 10_000 }).toBe(429);
		const refusedAt = requests.at(-1)?.at as number;
		expect(requests.map((r) => r.method)).toEqual(['GET', 'GET', 'HEAD']);
		first.close(); // room for the second, once it tries again
		await expect.poll(() => second.status, { timeout: 10_000 }).toBe('connected');
		const retry = requests.filter((r) => r.method === 'GET').at(-1)?.at as number;
		expect(retry - refusedAt).toBeGreaterThanOrEqual(1000);
	});
});
