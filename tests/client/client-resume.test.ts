// SSEClient against the real hub over real HTTP, with the `eventsource` package as its
// EventSource (a WHATWG-conformant client; jsdom has none): what a user of the client sees when
// the server drops it, and when it adds a topic, with the hub's own replay. The client against a
// scripted server, on this EventSource and on the fake, is client-suite.eventsource.test.ts.
import { EventSource } from 'eventsource';
import { afterEach, describe, expect, it } from 'vitest';
import { SSEClient } from '../../src/lib/client/index.js';
import { createSSEHub, type SSEHub } from '../../src/lib/server/index.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';
import { cookieFetch } from '../helpers/sse-client.js';

type Topics = { chat: { n: number }; logs: { n: number } };

let server: TestServer | undefined;
let hub: SSEHub<Topics> | undefined;
let client: SSEClient<Topics> | undefined;

afterEach(async () => {
	client?.close();
	await hub?.close();
	await server?.close();
	client = hub = server = undefined;
});

/** Resolves when `predicate` holds, checking on every event the client delivers (bounded). */
function until(what: string, predicate: () => boolean, subscribe: (check: () => void) => void) {
	return new Promise<void>((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
		const check = () => {
			if (predicate()) {
				clearTimeout(timer);
				resolve();
			}
		};
		subscribe(check);
		check();
	});
}

async function start() {
	hub = createSSEHub<Topics>({
		topics: ['chat', 'logs'],
		closeOnSignals: false,
		limits: { retryMs: 50 },
	});
	server = await serveHandler(hub.handler());
	return { hub, url: `${server.origin}/events` };
}

describe('SSEClient with the real hub', () => {
	it('resumes after the server drops it: nothing missed, nothing repeated', async () => {
		const { hub, url } = await start();
		const fetchWithCookies = cookieFetch();
		const received: Array<{ n: number; id: string }> = [];
		const checks = new Set<() => void>();
		client = new SSEClient<Topics>(url, {
			EventSource,
			eventSourceInit: { fetch: fetchWithCookies },
			topics: {
				chat: (data, { id }) => {
					received.push({ n: data.n, id });
					for (const check of checks) check();
				},
			},
		});
		const watch = (check: () => void) => checks.add(check);
		// Published before or after the client is connected: a fresh client gets the history too.
		for (let n = 1; n <= 3; n++) await hub.publish('chat', { n });
		await until('3 events', () => received.length === 3, watch);

		const session = fetchWithCookies.jar.get('sse_session') as string;
		expect(hub.disconnect(session)).toBe(1);
		for (let n = 4; n <= 6; n++) await hub.publish('chat', { n }); // while it is away
		await until('the missed events', () => received.length === 6, watch);
		for (let n = 7; n <= 8; n++) await hub.publish('chat', { n });
		await until('live events', () => received.length === 8, watch);

		expect(received.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		expect(client.topicCounters.chat).toBe(8);
		expect(client.lastEventID).toBe(received.at(-1)?.id);
		expect(client.error).toBeNull();
	});

	it('updateTopics adds a topic: its retained history arrives, the other topic resumes in place', async () => {
		const { hub, url } = await start();
		const fetchWithCookies = cookieFetch();
		const seen: string[] = [];
		const checks = new Set<() => void>();
		const watch = (check: () => void) => checks.add(check);
		const record = (topic: string) => (data: { n: number }) => {
			seen.push(`${topic}${data.n}`);
			for (const check of checks) check();
		};
		client = new SSEClient<Topics>(url, {
			EventSource,
			eventSourceInit: { fetch: fetchWithCookies },
			topics: { chat: record('chat') },
		});
		client.on('logs', record('logs'));
		await hub.publish('chat', { n: 1 });
		await until('chat 1', () => seen.length === 1, watch);
		await hub.publish('logs', { n: 1 });
		await hub.publish('logs', { n: 2 });
		await hub.publish('chat', { n: 2 });
		await until('chat 2', () => seen.includes('chat2'), watch);

		client.updateTopics({ addTopics: ['logs'] });
		expect(client.topics).toEqual(['chat', 'logs']);
		await until('the logs history', () => seen.includes('logs2'), watch);
		await hub.publish('chat', { n: 3 });
		await until('chat 3', () => seen.includes('chat3'), watch);
		expect(seen).toEqual(['chat1', 'chat2', 'logs1', 'logs2', 'chat3']);
		expect(client.topicCounters).toEqual({ chat: 3, logs: 2 });
	});
});
