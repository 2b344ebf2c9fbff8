// SSEClient against the real hub over real HTTP, with the `eventsource` package as its
// EventSource (a WHATWG-conformant client; jsdom has none): what a user of the client sees when
// the server drops it, and when it adds a topic, with the hub's own replay. The client against a
// scripted server, on this EventSource and on the fake, is client-suite.eventsource.test.ts.
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { SSEClient } from '../../src/lib/client/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { cookieFetch } from '../helpers/sse-client.js';
import { waiter } from '../helpers/waiter.js';

type Topics = { chat: { n: number }; logs: { n: number } };

const fixture = hubFixture<Topics>(['chat', 'logs']);

/** The hub (clients retry after 50 ms) and its stream URL. */
async function start() {
	const { hub, origin } = await fixture.start({ limits: { retryMs: 50 } });
	return { hub, url: `${origin}/events` };
}

describe('SSEClient with the real hub', () => {
	it('resumes after the server drops it: nothing missed, nothing repeated', async () => {
		const { hub, url } = await start();
		const fetchWithCookies = cookieFetch();
		const received: Array<{ n: number; id: string }> = [];
		const wait = waiter();
		const client = fixture.track(
			new SSEClient<Topics>(url, {
				EventSource,
				eventSourceInit: { fetch: fetchWithCookies },
				topics: {
					chat: (data, { id }) => {
						received.push({ n: data.n, id });
						wait.notify();
					},
				},
			}),
		);
		// Published before or after the client is connected: a fresh client gets the history too.
		for (let n = 1; n <= 3; n++) await hub.publish('chat', { n });
		await wait.until('3 events', () => received.length === 3);

		const session = fetchWithCookies.jar.get('sse_session') as string;
		expect(hub.disconnect(session)).toBe(1);
		for (let n = 4; n <= 6; n++) await hub.publish('chat', { n }); // while it is away
		await wait.until('the missed events', () => received.length === 6);
		for (let n = 7; n <= 8; n++) await hub.publish('chat', { n });
		await wait.until('live events', () => received.length === 8);

		expect(received.map((r) => r.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
		expect(client.topicCounters.chat).toBe(8);
		expect(client.lastEventID).toBe(received.at(-1)?.id);
		expect(client.error).toBeNull();
	});

	it('updateTopics adds a topic: its retained history arrives, the other topic resumes in place', async () => {
		const { hub, url } = await start();
		const fetchWithCookies = cookieFetch();
		const seen: string[] = [];
		const wait = waiter();
		const record = (topic: string) => (data: { n: number }) => {
			seen.push(`${topic}${data.n}`);
			wait.notify();
		};
		const client = fixture.track(
			new SSEClient<Topics>(url, {
				EventSource,
				eventSourceInit: { fetch: fetchWithCookies },
				topics: { chat: record('chat') },
			}),
		);
		client.on('logs', record('logs'));
		await hub.publish('chat', { n: 1 });
		await wait.until('chat 1', () => seen.length === 1);
		await hub.publish('logs', { n: 1 });
		await hub.publish('logs', { n: 2 });
		await hub.publish('chat', { n: 2 });
		await wait.until('chat 2', () => seen.includes('chat2'));

		client.updateTopics({ addTopics: ['logs'] });
		expect(client.topics).toEqual(['chat', 'logs']);
		await wait.until('the logs history', () => seen.includes('logs2'));
		await hub.publish('chat', { n: 3 });
		await wait.until('chat 3', () => seen.includes('chat3'));
		expect(seen).toEqual(['chat1', 'chat2', 'logs1', 'logs2', 'chat3']);
		expect(client.topicCounters).toEqual({ chat: 3, logs: 2 });
	});
});
