/**
 * The hub under pressure, over a real HTTP server: clients that come and go while events are
 * published in a tight loop, a client that never reads, and a replay larger than the buffer.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { memoryHistory } from '../../src/lib/server/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { dataEvents, openClient, type Received, type TestClient } from '../helpers/sse-client.js';

type Topics = { chat: { n: number }; logs: { n: number; pad?: string } };
const TOPICS = ['chat', 'logs'] as const;

const fixture = hubFixture<Topics>(TOPICS);
const start = fixture.start;

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A client that sometimes closes its EventSource and opens a new one with `lastEventId` (as
 * `updateTopics` or a manual reconnect does), keeping one log of everything it was given.
 */
class RoamingClient {
	readonly log: Received[] = [];
	readonly jar = new Map<string, string>();
	#current: TestClient;

	constructor(
		readonly origin: string,
		readonly topics: readonly string[],
	) {
		this.#current = this.#open(null);
	}

	#open(lastEventId: string | null): TestClient {
		const query = this.topics.map((t) => `topics=${t}`).join('&');
		const resume = lastEventId ? `&lastEventId=${lastEventId}` : '';
		const client = openClient(`${this.origin}/?${query}${resume}`, this.topics, this.jar);
		fixture.track(client);
		// Every stream this client opens appends to one log.
		const push = client.received.push.bind(client.received);
		client.received.push = (...items: Received[]) => {
			this.log.push(...items);
			return push(...items);
		};
		return client;
	}

	reopen(): void {
		this.#current.close();
		this.#current = this.#open(dataEvents(this.log).at(-1)?.id ?? null);
	}

	get session(): string | undefined {
		return this.jar.get('sse_session');
	}

	until(predicate: (log: Received[]) => boolean, what: string, timeoutMs = 20_000) {
		return this.#current.until(() => predicate(this.log), what, timeoutMs);
	}
}

describe('many clients connecting and reconnecting while events are published', () => {
	it('every client receives every event of its topics exactly once, in order', async () => {
		const { hub, origin } = await start({
			history: memoryHistory({ maxLength: 5000 }),
			// Late joiners below get every retained event: the test expects each client to have all.
			initialHistory: 'all',
			// Small pages interleave replays with the publisher: the replay-to-live hand-off is exercised.
			limits: { retryMs: 10, replayPageSize: 8 },
		});
		const topicSets = [['chat'], ['logs'], ['chat', 'logs']] as const;
		const roaming: RoamingClient[] = [];
		for (let i = 0; i < 12; i++)
			roaming.push(new RoamingClient(origin, topicSets[i % 3] as readonly string[]));

		const published: Array<{ topic: string; id: string }> = [];
		const total = 600;
		let cuts = 0;
		for (let n = 0; n < total; n++) {
			const topic = TOPICS[n % 3 === 0 ? 0 : 1];
			published.push({ topic, id: await hub.publish(topic, { n }) });
			if (n % 10 === 0) await tick();
			if (n % 50 === 25) {
				const round = Math.floor(n / 50);
				// The server cuts one client (it reconnects by itself with Last-Event-ID) …
				const cut = roaming[round % roaming.length]?.session;
				if (cut) cuts += hub.disconnect(cut);
				// … and another reopens its stream with a lastEventId query parameter.
				roaming[(round + 5) % roaming.length]?.reopen();
			}
			if (n === total / 2) {
				// Late joiners get the retained history of their topics, then live.
				for (let i = 0; i < 3; i++)
					roaming.push(new RoamingClient(origin, topicSets[i] as readonly string[]));
			}
		}

		for (const client of roaming) {
			const expected = published.filter((p) => client.topics.includes(p.topic)).map((p) => p.id);
			await client.until(
				(log) => dataEvents(log).length >= expected.length,
				`${expected.length} events`,
			);
			expect(dataEvents(client.log).map((r) => r.id)).toEqual(expected);
		}
		// The run did exercise the resume paths it claims to.
		const replays = roaming.flatMap((c) => c.log.filter((r) => r.type === 'sse:ready'));
		expect(cuts).toBeGreaterThanOrEqual(10);
		expect(replays.length).toBeGreaterThanOrEqual(roaming.length + 20);
		expect(replays.some((r) => (r.data as { replayed: number }).replayed > 0)).toBe(true);
	});
});

describe('slow consumers', () => {
	it('a client that never reads is dropped at the buffer limit, while a reading client gets everything', async () => {
		const limit = 256 * 1024;
		const dropped: Array<{ bufferedBytes: number; limit: number }> = [];
		const { hub, origin } = await start({
			history: memoryHistory({ maxLength: 100_000 }),
			limits: { maxBufferedBytes: limit },
			onSlowConsumer: (info) => dropped.push(info),
		});
		const reader = openClient(`${origin}/?topics=logs`, ['logs']);
		fixture.track(reader);
		await reader.until((r) => r.some((e) => e.type === 'sse:ready'), 'reader ready');

		// A raw socket that sends the request and then never reads a byte.
		const { port } = new URL(origin);
		const stalled = net.connect(Number(port), '127.0.0.1');
		stalled.pause();
		await new Promise((resolve) => stalled.once('connect', resolve));
		stalled.write(`GET /?topics=logs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
		await expect.poll(async () => (await hub.stats()).connections).toBe(2);

		const pad = 'x'.repeat(1024);
		let sent = 0;
		// Bounded: far more than loopback socket buffers plus the limit can absorb.
		while (dropped.length === 0 && sent < 50_000) {
			await hub.publish('logs', { n: sent++, pad });
			if (sent % 100 === 0) await tick();
		}
		stalled.destroy();

		expect(dropped).toHaveLength(1);
		expect(dropped[0]?.bufferedBytes).toBeGreaterThan(limit);
		// Past the limit by one write at most: a tick's events go out as one chunk (up to 100 here).
		expect(dropped[0]?.bufferedBytes).toBeLessThan(limit + 100 * 1100);
		await expect.poll(async () => (await hub.stats()).connections).toBe(1);
		// Counted for the person on call too (`hub.stats()`, the `sse.hub.slow_consumers` metric).
		expect(await hub.stats()).toMatchObject({ slowConsumers: 1, streamsClosed: 1 });
		await reader.until((r) => dataEvents(r).length === sent, `all ${sent} events`, 30_000);
		expect(dataEvents(reader.received).map((r) => (r.data as { n: number }).n)).toEqual(
			Array.from({ length: sent }, (_, n) => n),
		);
	});

	it('a reconnect whose replay is larger than the buffer limit still completes, at the client pace', async () => {
		const dropped: unknown[] = [];
		const { hub, origin } = await start({
			history: memoryHistory({ maxLength: 5000 }),
			limits: { maxBufferedBytes: 128 * 1024 },
			onSlowConsumer: (info) => dropped.push(info),
		});
		const first = openClient(`${origin}/?topics=logs`, ['logs']);
		fixture.track(first);
		await first.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
		const position = await hub.publish('logs', { n: -1 });
		await first.until((r) => dataEvents(r).length === 1, 'first event');
		first.close();
		await expect.poll(async () => (await hub.stats()).connections).toBe(0);

		const pad = 'y'.repeat(1024);
		for (let n = 0; n < 3000; n++) await hub.publish('logs', { n, pad }); // ~3 MiB, 24× the limit
		const back = openClient(`${origin}/?topics=logs&lastEventId=${position}`, ['logs'], first.jar);
		fixture.track(back);
		await back.until((r) => r.some((e) => e.type === 'sse:ready'), 'the replay to end', 30_000);
		expect(dropped).toEqual([]);
		expect(dataEvents(back.received)).toHaveLength(3000);
		expect(back.received.find((e) => e.type === 'sse:ready')?.data).toEqual({
			replayed: 3000,
			lastEventId: expect.any(String),
		});
	});
});
