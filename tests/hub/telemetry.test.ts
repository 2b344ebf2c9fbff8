// What a person on call reads: `hub.stats()` counters and the OpenTelemetry span and metrics, over
// a real HTTP hub and the real `eventsource` client, with the SDK registered globally (as an
// app's `instrumentation.server.ts` does) and its in-memory exporters read back.
import { describe, expect, it } from 'vitest';
import { memoryHistory, type SSEHubError } from '../../src/lib/server/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { metricValue, registerOtel } from '../helpers/otel.js';
import { dataEvents, type Received } from '../helpers/sse-client.js';

type Topics = { chat: { text: string }; logs: string };

// Before any hub: the hub takes the global tracer and meter when it is created.
const otel = registerOtel();
const fixture = hubFixture<Topics>(['chat', 'logs']);

const SPAN = 'sse.stream.open';
const ready = (received: Received[]) => received.some((r) => r.type === 'sse:ready');
const readyData = (received: Received[]) =>
	received.find((r) => r.type === 'sse:ready')?.data as { replayed: number };

describe('hub.stats() counters and OpenTelemetry', () => {
	it('a span per stream open, ended once its replay is written, with the replay size', async () => {
		otel.reset();
		const { hub, origin } = await fixture.start();
		const first = await hub.publish('chat', { text: 'one' });
		await hub.publish('chat', { text: 'two' });
		await hub.publish('logs', 'three');
		const client = fixture.open(`${origin}/?topics=chat&topics=logs&lastEventId=${first}`);
		await client.until(ready, 'sse:ready');
		const { replayed } = readyData(client.received);
		expect(replayed).toBeGreaterThanOrEqual(2);

		// Ended while the stream is still open: a span does not last as long as the stream.
		expect(client.source.readyState).toBe(client.source.OPEN);
		const spans = otel.spans(SPAN);
		expect(spans).toHaveLength(1);
		expect(spans[0]?.attributes).toEqual({
			'sse.topics.count': 2,
			'sse.resumed': true,
			'sse.replay.complete': true,
			'sse.replay.events': replayed,
		});
		// The session id is not on it: a span goes to a tracing backend, with other people's eyes.
		const session = [...client.jar.values()][0];
		expect(session).toBeTruthy();
		expect(JSON.stringify(spans[0]?.attributes)).not.toContain(session);

		expect(await hub.stats()).toMatchObject({
			connections: 1,
			published: 3,
			replayed,
			delivered: replayed,
			streamsOpened: 1,
			streamsClosed: 0,
			gaps: { expired: 0, epoch: 0, malformed: 0 },
			refused: {},
		});
		const metrics = await otel.collect();
		expect(metricValue(metrics, 'sse.hub.events.replayed')).toBe(replayed);
		expect(metricValue(metrics, 'sse.hub.streams.open')).toBe(1);
		expect(metricValue(metrics, 'sse.hub.history.events')).toBe(3);

		client.close();
		await expect.poll(async () => (await hub.stats()).streamsClosed).toBe(1);
		expect(metricValue(await otel.collect(), 'sse.hub.streams.open')).toBe(0);
	});

	it('publishing N counts N published, and N delivered per stream', async () => {
		const { hub, origin } = await fixture.start();
		const a = fixture.open(`${origin}/?topics=chat`);
		const b = fixture.open(`${origin}/?topics=chat&topics=logs`);
		await a.until(ready, 'a ready');
		await b.until(ready, 'b ready');
		const N = 25;
		for (let n = 0; n < N; n++) await hub.publish('chat', { text: `m${n}` });
		await hub.publish('logs', 'only b');
		await a.until((r) => dataEvents(r).length === N, `a: ${N} events`);
		await b.until((r) => dataEvents(r).length === N + 1, `b: ${N + 1} events`);

		const stats = await hub.stats();
		expect(stats).toMatchObject({ published: N + 1, delivered: 2 * N + 1, replayed: 0 });
		const metrics = await otel.collect();
		expect(metricValue(metrics, 'sse.hub.events.published')).toBe(N + 1);
		expect(metricValue(metrics, 'sse.hub.events.delivered')).toBe(2 * N + 1);
		expect(metricValue(metrics, 'sse.hub.streams.opened')).toBe(2);
		expect(metricValue(metrics, 'sse.hub.sessions')).toBe(stats.sessions);

		// An idempotent repeat is not published again.
		await hub.publish('logs', 'once', { idempotencyKey: 'k' });
		await hub.publish('logs', 'once', { idempotencyKey: 'k' });
		expect((await hub.stats()).published).toBe(N + 2);
	});

	it('gaps by reason, on the stream span and in the counters', async () => {
		otel.reset();
		const { hub, origin } = await fixture.start({ history: memoryHistory({ maxLength: 2 }) });
		const first = await hub.publish('chat', { text: 'gone soon' });
		for (let n = 0; n < 4; n++) await hub.publish('chat', { text: `${n}` });
		const cases = [
			['expired', first],
			['malformed', 'not-an-id'],
			['epoch', 'anotherEpoch-1'],
		] as const;
		for (const [reason, lastEventId] of cases) {
			const client = fixture.open(`${origin}/?topics=chat&lastEventId=${lastEventId}`);
			await client.until(ready, `sse:ready after a ${reason} gap`);
			expect(client.received[0]).toMatchObject({ type: 'sse:gap', data: { reason } });
			client.close();
		}
		expect(otel.spans(SPAN).map((span) => span.attributes['sse.gap.reason'])).toEqual([
			'expired',
			'malformed',
			'epoch',
		]);
		expect((await hub.stats()).gaps).toEqual({ expired: 1, epoch: 1, malformed: 1 });
		const metrics = await otel.collect();
		for (const reason of ['expired', 'epoch', 'malformed']) {
			expect(metricValue(metrics, 'sse.hub.gaps', { 'sse.gap.reason': reason }), reason).toBe(1);
		}
	});

	it('refusals by code, for stream requests (not HEAD probes) and for publishes', async () => {
		otel.reset();
		const { hub, origin } = await fixture.start({
			session: (event) => event.url.searchParams.get('as'),
			authorize: ({ topics }) => !topics.includes('logs'),
			limits: { maxConnectionsPerSession: 1 },
		});
		const open = fixture.open(`${origin}/?topics=chat&as=ann`);
		await open.until(ready, 'ready');
		const statuses = [];
		for (const query of [
			'topics=weather&as=ann',
			'topics=weather&topics=sports&as=ann',
			'as=ann',
			'topics=chat',
			'topics=logs&as=bob',
			'topics=chat&as=ann',
		]) {
			statuses.push((await fetch(`${origin}/?${query}`)).status);
		}
		expect(statuses).toEqual([400, 400, 400, 401, 403, 429]);
		// The client's probe after a failure asks the same question: not a second refusal.
		expect((await fetch(`${origin}/?topics=weather`, { method: 'HEAD' })).status).toBe(400);
		await expect(hub.publish('weather' as 'chat', { text: 'x' })).rejects.toMatchObject({
			code: 'unknown_topic',
		} satisfies Partial<SSEHubError>);

		const refused = {
			unknown_topic: 2,
			no_topics: 1,
			unauthorized: 1,
			forbidden: 1,
			too_many_connections: 1,
		};
		expect(await hub.stats()).toMatchObject({
			refused,
			publishRefused: { unknown_topic: 1 },
			streamsOpened: 1,
		});
		const metrics = await otel.collect();
		for (const [code, n] of Object.entries(refused)) {
			expect(
				metricValue(metrics, 'sse.hub.streams.refused', { 'sse.refusal.code': code }),
				code,
			).toBe(n);
		}
		expect(
			metricValue(metrics, 'sse.hub.publishes.refused', { 'sse.refusal.code': 'unknown_topic' }),
		).toBe(1);

		// One span per stream request: the open one and the six refused (a 4xx is not an error).
		const spans = otel.spans(SPAN);
		expect(spans).toHaveLength(7);
		const refusals = spans.filter((span) => span.attributes['sse.refusal.code'] !== undefined);
		expect(refusals.map((span) => span.attributes['http.response.status_code'])).toEqual(statuses);
		for (const span of refusals) expect(span.status.code).toBe(0); // UNSET
	});

	it('a 503 marks its span as an error', async () => {
		otel.reset();
		const store = memoryHistory();
		const { origin } = await fixture.start({
			history: { ...store, epoch: () => Promise.reject(new Error('store down')) },
			onError: () => {},
		});
		expect((await fetch(`${origin}/?topics=chat`)).status).toBe(503);
		const [span] = otel.spans(SPAN);
		expect(span?.attributes['sse.refusal.code']).toBe('history_unavailable');
		expect(span?.status.code).toBe(2); // ERROR
		await store.close();
	});
});
