/**
 * Resuming over a real HTTP server with the real `eventsource` client: what a client missed
 * while away arrives once, in order; new topics get their history; gaps are announced.
 */
import { describe, expect, it, vi } from 'vitest';
import { memoryHistory, type SSEHub } from '../../src/lib/server/index.js';
import { seedNamed } from '../../src/lib/testing/seed-store.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { dataEvents, type Received } from '../helpers/sse-client.js';

type Topics = { chat: { n: number }; logs: { n: number } };

const fixture = hubFixture<Topics>(['chat', 'logs']);
const start = fixture.start;
const open = (url: string, jar?: Map<string, string>) => fixture.open(url, jar);

const readyCount = (received: Received[]) => received.filter((r) => r.type === 'sse:ready').length;

async function publishMany(h: SSEHub<Topics>, topic: keyof Topics, from: number, count: number) {
	const ids: string[] = [];
	for (let n = from; n < from + count; n++) ids.push(await h.publish(topic, { n }));
	return ids;
}

describe('resume after the server cuts the stream', () => {
	it('the client reconnects by itself and gets exactly what it missed, then live events', async () => {
		const { hub, origin } = await start({ limits: { retryMs: 300 } });
		const client = open(`${origin}/?topics=chat`);
		await client.until((r) => readyCount(r) === 1, 'the first sse:ready');
		const before = await publishMany(hub, 'chat', 1, 3);
		await client.until((r) => dataEvents(r).length === 3, '3 live events');

		const session = client.jar.get('sse_session') as string;
		const dropped = new Promise((resolve) =>
			client.source.addEventListener('error', resolve, { once: true }),
		);
		expect(hub.disconnect(session)).toBe(1);
		await dropped;
		const missed = await publishMany(hub, 'chat', 4, 3);
		await client.until((r) => readyCount(r) === 2, 'the sse:ready of the reconnect');
		const live = await publishMany(hub, 'chat', 7, 2);
		await client.until((r) => dataEvents(r).length === 8, 'the live events after the replay');

		expect(dataEvents(client.received).map((r) => r.id)).toEqual([...before, ...missed, ...live]);
		expect(dataEvents(client.received).map((r) => (r.data as { n: number }).n)).toEqual([
			1, 2, 3, 4, 5, 6, 7, 8,
		]);
		expect(client.received.filter((r) => r.type === 'sse:ready').map((r) => r.data)).toEqual([
			{ replayed: 0, lastEventId: expect.any(String) },
			{ replayed: 3, lastEventId: expect.any(String) },
		]);
		expect(client.received.some((r) => r.type === 'sse:gap')).toBe(false);
	});
});

/**
 * A client on chat leaves, then comes back on chat and logs: logs (new to it) gets its history,
 * chat (which it had) only what came after its position.
 */
async function resumeAddingATopic(hub: SSEHub<Topics>, origin: string) {
	const first = open(`${origin}/?topics=chat`);
	await first.until((r) => readyCount(r) === 1, 'ready');
	const chat = await publishMany(hub, 'chat', 1, 2);
	const logs = await publishMany(hub, 'logs', 1, 2);
	await first.until((r) => dataEvents(r).length === 2, '2 chat events');
	const position = first.received.at(-1)?.id;
	expect(position).toBe(chat[1]);
	first.close();

	const later = await publishMany(hub, 'chat', 3, 1);
	const second = open(`${origin}/?topics=chat&topics=logs&lastEventId=${position}`, first.jar);
	await second.until((r) => readyCount(r) === 1, 'ready');
	// Merged in seq order: the logs history (published before chat 3), then the missed chat.
	expect(dataEvents(second.received).map((r) => r.id)).toEqual([...logs, ...later]);
}

describe('topic safety', () => {
	it('a topic added on reconnect gets its history; a topic the client had only what came after', async () => {
		const { hub, origin } = await start();
		await resumeAddingATopic(hub, origin);
	});

	it('holds the same over a store with the seed method names (setSubscription, subscriptions)', async () => {
		const seed = seedNamed(memoryHistory());
		const setSubscription = vi.spyOn(seed, 'setSubscription');
		const subscriptions = vi.spyOn(seed, 'subscriptions');
		const { hub, origin } = await start({ history: seed });
		await resumeAddingATopic(hub, origin);
		// The cursor records went through the seed's names, and the resume read them back.
		expect(setSubscription).toHaveBeenCalled();
		expect(subscriptions).toHaveBeenCalled();
	});

	it('two tabs of one session do not confuse each other about which topics are new', async () => {
		const { hub, origin } = await start();
		const jar = new Map<string, string>();
		const tabA = open(`${origin}/?topics=chat&topics=logs`, jar);
		await tabA.until((r) => readyCount(r) === 1, 'tab A ready');
		const tabB = open(`${origin}/?topics=chat`, jar);
		await tabB.until((r) => readyCount(r) === 1, 'tab B ready');
		const logs = await publishMany(hub, 'logs', 1, 2);
		const chat = await publishMany(hub, 'chat', 1, 1);
		await tabB.until((r) => dataEvents(r).length === 1, 'tab B got the chat event');
		tabB.close();

		// Tab B adds logs: the session had logs (tab A), but tab B never did.
		const tabB2 = open(`${origin}/?topics=chat&topics=logs&lastEventId=${chat[0]}`, jar);
		await tabB2.until((r) => readyCount(r) === 1, 'tab B ready again');
		expect(dataEvents(tabB2.received, 'logs').map((r) => r.id)).toEqual(logs);
		expect(dataEvents(tabB2.received, 'chat')).toEqual([]);
	});

	it('what a brand-new client gets follows initialHistory: none, or the last N', async () => {
		for (const [policy, expected] of [
			['none', []],
			[2, [4, 5]],
		] as const) {
			const { hub, origin } = await start({ initialHistory: policy });
			await publishMany(hub, 'logs', 1, 5);
			const client = open(`${origin}/?topics=logs`);
			await client.until((r) => readyCount(r) === 1, 'ready');
			expect(dataEvents(client.received).map((r) => (r.data as { n: number }).n)).toEqual(expected);
			await fixture.stop();
		}
	});
});

describe('gaps', () => {
	it('an expired position is announced before what replay is still possible', async () => {
		const { hub, origin } = await start({ history: memoryHistory({ maxLength: 3 }) });
		const client = open(`${origin}/?topics=chat`);
		await client.until((r) => readyCount(r) === 1, 'ready');
		const [first] = await publishMany(hub, 'chat', 1, 1);
		await client.until((r) => dataEvents(r).length === 1, 'one event');
		client.close();
		const published = await publishMany(hub, 'chat', 2, 6);

		const back = open(`${origin}/?topics=chat&lastEventId=${first}`, client.jar);
		await back.until((r) => readyCount(r) === 1, 'ready');
		expect(back.received[0]).toMatchObject({
			type: 'sse:gap',
			data: { reason: 'expired', topics: ['chat'] },
		});
		expect(dataEvents(back.received).map((r) => r.id)).toEqual(published.slice(-3));
	});

	it.each([
		['epoch', 'zz9-1'],
		['malformed', 'not-an-id'],
		['malformed', '__'],
	])(
		'a position from another store lifetime or garbage is a gap (%s: %s), then history',
		async (reason, id) => {
			const { hub, origin } = await start();
			const logs = await publishMany(hub, 'logs', 1, 2);
			const client = open(`${origin}/?topics=logs&lastEventId=${encodeURIComponent(id)}`);
			await client.until((r) => readyCount(r) === 1, 'ready');
			expect(client.received[0]).toMatchObject({
				type: 'sse:gap',
				data: { reason, topics: ['logs'] },
			});
			expect(dataEvents(client.received).map((r) => r.id)).toEqual(logs);
		},
	);

	it("a stream opened with ?history= gets that history once: the browser's own reconnects do not repeat it", async () => {
		const { hub, origin } = await start({ limits: { retryMs: 300 } });
		await publishMany(hub, 'chat', 1, 3);
		// A tab of a shared stream that is new to chat, though the stream had it.
		const client = open(`${origin}/?topics=chat&history=chat&client=shared-stream-1`);
		await client.until((r) => readyCount(r) === 1, 'the first sse:ready');
		expect(dataEvents(client.received)).toHaveLength(3);
		// A live event: the stream is past its start, where the hub could not tell what it got.
		await publishMany(hub, 'chat', 4, 1);
		await client.until((r) => dataEvents(r).length === 4, 'the live event');

		const session = client.jar.get('sse_session') as string;
		const dropped = new Promise((resolve) =>
			client.source.addEventListener('error', resolve, { once: true }),
		);
		hub.disconnect(session);
		await dropped;
		const missed = await publishMany(hub, 'chat', 5, 2);
		await client.until((r) => readyCount(r) === 2, 'the sse:ready of the reconnect');
		// The same URL again, now with Last-Event-ID: what it missed, not chat's history anew.
		expect(client.received.filter((r) => r.type === 'sse:ready').at(-1)?.data).toMatchObject({
			replayed: 2,
		});
		expect(
			dataEvents(client.received)
				.slice(4)
				.map((r) => r.id),
		).toEqual(missed);
	});

	it('the Last-Event-ID header wins over the lastEventId query parameter', async () => {
		const { hub, origin } = await start();
		const readUntil = async (response: Response, marker: string) => {
			const reader = response.body?.getReader() as ReadableStreamDefaultReader<Uint8Array>;
			let text = '';
			while (!text.includes(marker)) text += new TextDecoder().decode((await reader.read()).value);
			await reader.cancel();
			return text;
		};
		const first = await fetch(`${origin}/?topics=logs`);
		const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
		const [one, two] = await publishMany(hub, 'logs', 1, 2);
		await readUntil(first, `id: ${two}`);
		await expect.poll(async () => (await hub.stats()).connections).toBe(0);

		const resumed = await fetch(`${origin}/?topics=logs&lastEventId=garbage`, {
			headers: { cookie, 'last-event-id': one as string },
		});
		const text = await readUntil(resumed, 'event: sse:ready');
		expect(text).not.toContain('sse:gap');
		expect(text).toContain(`id: ${two}\n`);
		// It starts from `one` (its first bytes state it) and replays only what came after.
		expect(text).toContain(`id: ${one}\n\n`);
		expect(text).not.toContain(`id: ${one}\nevent:`);
	});
});

describe('sessions', () => {
	it('an event published to one session reaches only it, and its history survives a reload', async () => {
		const { hub, origin } = await start();
		const alice = open(`${origin}/?topics=chat`);
		const bob = open(`${origin}/?topics=chat`);
		await alice.until((r) => readyCount(r) === 1, 'alice ready');
		await bob.until((r) => readyCount(r) === 1, 'bob ready');
		const session = alice.jar.get('sse_session') as string;
		const id = await hub.publish('chat', { n: 1 }, { session });
		const everyone = await hub.publish('chat', { n: 2 });
		await alice.until((r) => dataEvents(r).length === 2, 'alice gets both');
		await bob.until((r) => dataEvents(r).length === 1, 'bob gets the broadcast');
		expect(dataEvents(bob.received).map((r) => r.id)).toEqual([everyone]);

		// A reload: a new page, same cookie, no position: the session's history comes back.
		alice.close();
		const reloaded = open(`${origin}/?topics=chat`, alice.jar);
		await reloaded.until((r) => readyCount(r) === 1, 'reloaded ready');
		expect(dataEvents(reloaded.received).map((r) => r.id)).toEqual([id, everyone]);
	});
});
