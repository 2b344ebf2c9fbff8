/**
 * Exactly once, or told: the paths where a resuming client used to lose events silently, each
 * over a real HTTP server with the real `eventsource` client (and SSEClient where it is its own
 * behaviour that matters).
 */
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { SSEClient } from '../../src/lib/client/index.js';
import { memoryHistory, type NewTopicHistory, type SSEHub } from '../../src/lib/server/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { cookieFetch, dataEvents, type Received, type TestClient } from '../helpers/sse-client.js';
import { waiter } from '../helpers/waiter.js';

type Topics = { chat: { n: number }; news: { n: number } };

const fixture = hubFixture<Topics>(['chat', 'news']);

const readyCount = (received: Received[]) => received.filter((r) => r.type === 'sse:ready').length;
const numbers = (received: Received[], topic: keyof Topics) =>
	dataEvents(received, topic).map((r) => (r.data as { n: number }).n);

/** Resolves once the hub has noticed closed streams: `open` of them are left. */
async function streamsLeft(hub: SSEHub<Topics>, open: number) {
	await expect.poll(async () => (await hub.stats()).connections).toBe(open);
}

/**
 * Resolves once what was published so far has gone out live (a stream opened earlier would
 * otherwise take it as a live event): a marker on chat reaches `witness`, after everything before.
 */
async function delivered(hub: SSEHub<Topics>, witness: TestClient) {
	const id = await hub.publish('chat', { n: -1 });
	await witness.until((r) => r.some((e) => e.id === id), 'the marker');
}

/** A client of news that got news 1 and left (the hub has noticed); news 1's id is its position. */
async function gotNewsOneAndLeft(hub: SSEHub<Topics>, origin: string) {
	const client = fixture.open(`${origin}/?topics=news`);
	await client.until((r) => readyCount(r) === 1, 'ready');
	const [n1] = await publishMany(hub, 'news', 1, 1);
	await client.until((r) => dataEvents(r).length === 1, 'news 1');
	client.close();
	await streamsLeft(hub, 0);
	return { client, n1: n1 as string };
}

async function publishMany(hub: SSEHub<Topics>, topic: keyof Topics, from: number, count: number) {
	const ids: string[] = [];
	for (let n = from; n < from + count; n++) ids.push(await hub.publish(topic, { n }));
	return ids;
}

describe('a forgotten session', () => {
	it('away longer than the session TTL, with its position trimmed from history: sse:gap expired', async () => {
		let clock = 1_000_000;
		const history = memoryHistory({
			now: () => clock,
			maxAgeMs: 5 * 60_000,
			sessionTtlMs: 30 * 60_000,
		});
		const { hub, origin } = await fixture.start({ history });
		const { client, n1 } = await gotNewsOneAndLeft(hub, origin);
		await publishMany(hub, 'news', 2, 3);

		clock += 31 * 60_000; // a laptop closed for 31 minutes: session and events 2-4 are gone
		await publishMany(hub, 'news', 5, 1);
		const back = fixture.open(`${origin}/?topics=news&lastEventId=${n1}`, client.jar);
		await back.until((r) => readyCount(r) === 1, 'ready again');
		expect(back.received.map((r) => r.type)).toEqual(['sse:gap', 'news', 'sse:ready']);
		expect(back.received[0]?.data).toEqual({ reason: 'expired', topics: ['news'] });
		expect(numbers(back.received, 'news')).toEqual([5]);
	});

	it('evicted by maxSessions while its events are still retained: it gets them, whatever the policy', async () => {
		const history = memoryHistory({ maxSessions: 1 });
		const { hub, origin } = await fixture.start({ history, newTopicHistory: 'none' });
		const { client, n1 } = await gotNewsOneAndLeft(hub, origin);
		await publishMany(hub, 'news', 2, 2);
		const other = fixture.open(`${origin}/?topics=chat`); // another visitor takes the one slot
		await other.until((r) => readyCount(r) === 1, 'the other visitor ready');
		expect((await hub.stats()).sessions).toBe(1);

		const back = fixture.open(`${origin}/?topics=news&lastEventId=${n1}`, client.jar);
		await back.until((r) => readyCount(r) === 1, 'ready again');
		expect(numbers(back.received, 'news')).toEqual([2, 3]);
		expect(back.received.some((r) => r.type === 'sse:gap')).toBe(false);
	});
});

describe('a topic the resuming client had resumes from its position, whatever the policy', () => {
	it.each([['none'], [1]] as [NewTopicHistory][])(
		'two tabs of one session with different topics; the tab with more has a blip (policy %s)',
		async (policy) => {
			const { hub, origin } = await fixture.start({ newTopicHistory: policy });
			const jar = new Map<string, string>();
			const tab1 = fixture.open(`${origin}/?topics=chat`, jar);
			await tab1.until((r) => readyCount(r) === 1, 'tab 1 ready');
			const tab2 = fixture.open(`${origin}/?topics=chat&topics=news`, jar);
			await tab2.until((r) => readyCount(r) === 1, 'tab 2 ready');
			const [n1] = await publishMany(hub, 'news', 1, 1);
			await tab2.until((r) => dataEvents(r).length === 1, 'tab 2 got news 1');
			tab2.close();
			await streamsLeft(hub, 1);
			await publishMany(hub, 'news', 2, 2);
			await delivered(hub, tab1);

			const back = fixture.open(`${origin}/?topics=chat&topics=news&lastEventId=${n1}`, jar);
			await back.until((r) => readyCount(r) === 1, 'tab 2 ready again');
			expect(numbers(back.received, 'news')).toEqual([2, 3]);
		},
	);

	it('one tab adds a topic and drops before any new event: what was published meanwhile arrives', async () => {
		const { hub, origin } = await fixture.start({ newTopicHistory: 'none' });
		const tab = fixture.open(`${origin}/?topics=chat`);
		await tab.until((r) => readyCount(r) === 1, 'ready');
		const [c1] = await publishMany(hub, 'chat', 1, 1);
		await tab.until((r) => dataEvents(r).length === 1, 'chat 1');
		tab.close();
		await streamsLeft(hub, 0);

		const url = `${origin}/?topics=chat&topics=news&lastEventId=${c1}`;
		const added = fixture.open(url, tab.jar);
		await added.until((r) => readyCount(r) === 1, 'ready with news');
		added.close();
		const witness = fixture.open(`${origin}/?topics=chat`);
		await witness.until((r) => readyCount(r) === 1, 'the witness ready');
		await streamsLeft(hub, 1);
		await publishMany(hub, 'news', 1, 1);
		await delivered(hub, witness);

		const back = fixture.open(url, tab.jar);
		await back.until((r) => readyCount(r) === 1, 'ready again');
		expect(numbers(back.received, 'news')).toEqual([1]);
	});
});

describe('a stream has a position from its first byte', () => {
	it('the stream states it: a client that got no event yet resumes with it', async () => {
		const { hub, origin } = await fixture.start({ newTopicHistory: 'none' });
		await publishMany(hub, 'news', 1, 2);
		const first = await fetch(`${origin}/?topics=news`);
		const reader = (first.body as ReadableStream<Uint8Array>).getReader();
		let text = '';
		for (let reads = 0; reads < 20 && !text.includes('event: sse:ready'); reads++) {
			text += new TextDecoder().decode((await reader.read()).value);
		}
		await reader.cancel();
		const stated = /^id: (\S+)$/m.exec(text)?.[1];
		expect(stated).toMatch(/-2$/); // the head when the stream opened
		// Nothing but the position: no event is dispatched for it.
		expect(text.split('\n\n')).toContain(`id: ${stated}`);

		const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
		await publishMany(hub, 'news', 3, 1);
		const jar = new Map([cookie.split('=') as [string, string]]);
		const back = fixture.open(`${origin}/?topics=news&lastEventId=${stated}`, jar);
		await back.until((r) => readyCount(r) === 1, 'ready');
		expect(numbers(back.received, 'news')).toEqual([3]);
	});

	it('SSEClient dropped before its first event gets what was published while it reconnected', async () => {
		const { hub, origin } = await fixture.start({
			newTopicHistory: 'none',
			limits: { retryMs: 200 },
		});
		const got: number[] = [];
		let readies = 0;
		const fetchWithCookies = cookieFetch();
		const { notify, until } = waiter();
		class CountingEventSource extends EventSource {
			constructor(url: string | URL, init?: ConstructorParameters<typeof EventSource>[1]) {
				super(url, init);
				this.addEventListener('sse:ready', () => {
					readies++;
					notify();
				});
			}
		}
		const client = new SSEClient<Topics>(`${origin}/`, {
			EventSource: CountingEventSource,
			eventSourceInit: { fetch: fetchWithCookies },
			topics: {
				news: (data) => {
					got.push(data.n);
					notify();
				},
			},
			autoConnect: false,
		});
		try {
			client.connect();
			await until('ready', () => readies === 1);
			const session = fetchWithCookies.jar.get('sse_session') as string;
			expect(hub.disconnect(session)).toBe(1);
			await hub.publish('news', { n: 1 }); // while the client reconnects by itself
			await until('ready again', () => readies === 2);
			await hub.publish('news', { n: 2 });
			await until('both events', () => got.length >= 2);
			expect(got).toEqual([1, 2]);
		} finally {
			client.close();
		}
	});
});

describe('a resume replays what the client lacks, not more', () => {
	it('a client that stopped inside its first history resumes after where it stopped', async () => {
		const { hub, origin } = await fixture.start();
		const ids = await publishMany(hub, 'news', 1, 10);
		const first = fixture.open(`${origin}/?topics=news`);
		await first.until((r) => readyCount(r) === 1, 'the history');
		first.close();
		await streamsLeft(hub, 0);
		// As a browser dropped in the middle of that replay would: its last id is the 5th event.
		const back = fixture.open(`${origin}/?topics=news&lastEventId=${ids[4]}`, first.jar);
		await back.until((r) => readyCount(r) === 1, 'ready again');
		expect(numbers(back.received, 'news')).toEqual([6, 7, 8, 9, 10]);
	});
});
