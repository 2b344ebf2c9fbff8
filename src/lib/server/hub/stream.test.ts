// HubStream's hand-off from replay to live: live events that come while the replay (or a catch-up
// after the live feed was in doubt) is written wait, then go out once each, in order. Alone on a
// transport connection, then through the hub's handler with a client that reads slowly.
import { afterEach, describe, expect, it } from 'vitest';
import { openHubStream } from '../../testing/hub-stream.js';
import { open } from '../../testing/sse-body.js';
import { memoryHistory, type StoredEvent } from '../history/index.js';
import { joinFrames } from '../wire/index.js';
import { HubCounters } from './counters.js';
import { createSSEHub } from './hub.js';
import { HubStream } from './stream.js';
import type { SSEHub } from './types.js';

type Topics = { logs: { n: number; pad?: string } };
let hub: SSEHub<Topics> | undefined;

afterEach(async () => {
	await hub?.close();
	hub = undefined;
});

const stored = (seq: number): StoredEvent => ({
	seq,
	id: `e-${seq}`,
	topic: 'logs',
	data: JSON.stringify({ n: seq }),
	time: 0,
});

/** A HubStream on a fresh connection, with the client that reads its body. */
function hubStream() {
	const opened = open({ keepAliveMs: 0 });
	const registration = { connection: 'c', client: undefined, epoch: 'e', added: [], position: 0 };
	const stream = new HubStream('s', ['logs'], opened.connection, registration, new HubCounters());
	const ids = () => opened.client.events.map((event) => event.id);
	return { ...opened, stream, ids };
}

/** `writeLive` as the fan-out calls it: the events and their frames joined. */
const live = (stream: HubStream, ...seqs: number[]) => {
	const events = seqs.map(stored);
	stream.writeLive(events, joinFrames(events));
};

describe('HubStream', () => {
	it('holds live events while its replay is written, then sends them once, in order', async () => {
		const { stream, connection, client, ids } = hubStream();
		stream.sendAll([1, 2, 3].map(stored)); // a replay slice
		await client.read(3);
		live(stream, 5);
		live(stream, 3, 4); // 3 went out with the replay
		expect(connection.bufferedBytes).toBe(0);

		stream.goLive();
		live(stream, 6);
		await client.read(6);
		expect(ids()).toEqual(['e-1', 'e-2', 'e-3', 'e-4', 'e-5', 'e-6']);
		expect(stream.lastSeq).toBe(6);
		connection.close();
	});

	it('held for the live feed, it stays held past its replay until the feed releases it', async () => {
		const { stream, connection, client, ids } = hubStream();
		stream.holdForFeed();
		live(stream, 2);
		stream.sendAll([stored(1)]);
		stream.goLive();
		await stream.replayed();
		await client.read(1);
		expect(connection.bufferedBytes).toBe(0);

		stream.releaseFeedHold();
		live(stream, 3);
		await client.read(3);
		expect(ids()).toEqual(['e-1', 'e-2', 'e-3']);
		connection.close();
	});
});

describe('replay to live hand-off through the hub', () => {
	it('events published while a replay waits on a slow client come once, in order, after it', async () => {
		hub = createSSEHub<Topics>({
			topics: ['logs'],
			history: memoryHistory({ maxLength: 5000 }),
			initialHistory: 'all', // the fresh client below replays all 1000
			closeOnSignals: false,
			limits: { replayPageSize: 50 },
		});
		const pad = 'p'.repeat(1024);
		const history: string[] = [];
		for (let n = 0; n < 1000; n++) history.push(await hub.publish('logs', { n, pad }));

		const client = await openHubStream(hub, 'topics=logs');
		await client.readUntil(() => client.events.length >= 100);
		const published: string[] = [];
		for (let n = 1000; n < 1050; n++) published.push(await hub.publish('logs', { n }));
		await client.readUntil(
			() =>
				client.events.some((e) => e.event === 'sse:ready') &&
				client.events.filter((e) => e.event === 'logs').length >= history.length + published.length,
		);
		const logs = client.events.filter((e) => e.event === 'logs').map((e) => e.id);
		expect(logs).toEqual([...history, ...published]);
		// Whatever the store held when the replay read it counts as replayed; the rest was held back.
		const ready = client.events.find((e) => e.event === 'sse:ready');
		expect(JSON.parse(ready?.data ?? '{}').replayed).toBeGreaterThanOrEqual(history.length);
		await client.cancel();
	});
});
