// ReplayWriter on a real transport connection and a memory store: what a new stream's first
// bytes are, in order; an expired position announced before the replay; a replay written at the
// client's pace, never past the stream's high-water mark; and nothing more once the client left.
import { afterEach, describe, expect, it } from 'vitest';
import { record } from '../../testing/records.js';
import { KiB, open, settle } from '../../testing/sse-body.js';
import { type HistoryStore, memoryHistory, type StoredEvent } from '../history/index.js';
import type { SSEConnection, SSEConnectionOptions } from '../transport/index.js';
import { encodeControl, encodePosition, frame, joinFrames } from '../wire/index.js';
import { planReplay } from './plan.js';
import { type ReplayTarget, ReplayWriter } from './writer.js';

const stores: HistoryStore[] = [];

afterEach(async () => {
	for (const store of stores.splice(0)) await store.close();
});

function storeOf(...options: Parameters<typeof memoryHistory>) {
	const store = memoryHistory(...options);
	stores.push(store);
	return store;
}

async function publish(store: HistoryStore, count: number, pad = '') {
	const events: StoredEvent[] = [];
	for (let n = 0; n < count; n++) {
		events.push(await store.append({ topic: 'logs', data: JSON.stringify({ n, pad }) }));
	}
	return events;
}

/** The open stream a replay is written into, as the hub's HubStream does it (minus live events). */
function target(connection: SSEConnection) {
	const stream: ReplayTarget & { live: boolean } = {
		session: 's',
		connection,
		lastSeq: 0,
		live: false,
		sendAll(events) {
			const fresh = events.filter((event) => event.seq > stream.lastSeq);
			stream.lastSeq = fresh.at(-1)?.seq ?? stream.lastSeq;
			if (fresh.length > 0) connection.write(joinFrames(fresh));
			return fresh.length;
		},
		goLive() {
			stream.live = true;
		},
	};
	return stream;
}

/** A new stream of `store` for `lastEventId`, with the writer's output read by a client. */
async function start(
	store: HistoryStore,
	lastEventId: string | null,
	options: SSEConnectionOptions = {},
) {
	const opened = open({ keepAliveMs: 0, ...options });
	const stream = target(opened.connection);
	// A fresh client gets every retained event here: the replays these tests need are large.
	const plan = await planReplay({
		store,
		session: 's',
		topics: ['logs'],
		lastEventId,
		initialHistory: 'all',
	});
	const writing = new ReplayWriter(store, undefined).writeStart(stream, plan);
	return { ...opened, stream, plan, writing };
}

describe('ReplayWriter.writeStart', () => {
	it('writes the position, the replay, the position reached and sse:ready, then goes live', async () => {
		const store = storeOf();
		const [first, ...missed] = await publish(store, 3);
		// An earlier stream of the session carried the topic: it is one the client had.
		await store.setCursorRecord('s', record('earlier', ['logs'], 0, 3));
		const { client, stream, writing } = await start(store, first?.id ?? null);
		await writing;
		await client.read(3); // two events and sse:ready
		const last = missed.at(-1) as StoredEvent;
		expect(client.text).toBe(
			[
				'retry: 3000\n\n',
				encodePosition(first?.id as string),
				...missed.map((event) => frame(event.topic, event.data, event.id)),
				encodePosition(last.id),
				encodeControl('sse:ready', { replayed: 2, lastEventId: last.id }),
			].join(''),
		);
		expect(stream.live).toBe(true);
		expect(stream.lastSeq).toBe(last.seq);
	});

	it('announces an expired position as an sse:gap before what is still retained', async () => {
		const store = storeOf({ maxLength: 2 });
		const [first, , , ...retained] = await publish(store, 5);
		const { client, writing } = await start(store, first?.id ?? null);
		await writing;
		const events = await client.read(4);
		expect(events.map((event) => event.event)).toEqual(['sse:gap', 'logs', 'logs', 'sse:ready']);
		expect(JSON.parse(events[0]?.data ?? '{}')).toEqual({ reason: 'expired', topics: ['logs'] });
		expect(events.slice(1, 3).map((event) => event.id)).toEqual(retained.map((e) => e.id));
	});

	it('a replay never fills the stream past its high-water mark, whatever its size', async () => {
		const store = storeOf({ maxLength: 5000 });
		await publish(store, 3000, 'q'.repeat(1024));
		const { client, connection, stream, writing } = await start(store, null, {
			maxBufferedBytes: 96 * KiB,
		});
		// Read nothing for a while: the replay must stop at the stream's high-water mark, not run
		// on into the buffer limit (which would drop the client and make it reconnect forever).
		for (let i = 0; i < 20; i++) await settle();
		expect(connection.closed).toBe(false);
		expect(connection.bufferedBytes).toBeLessThan(96 * KiB);
		expect(stream.live).toBe(false);

		await client.readUntil(() => client.events.some((e) => e.event === 'sse:ready'));
		expect(client.events.filter((e) => e.event === 'logs')).toHaveLength(3000);
		await writing;
		expect(stream.live).toBe(true);
		await client.cancel();
	});

	it('stops, without going live, when the client leaves during the replay', async () => {
		const store = storeOf({ maxLength: 5000 });
		await publish(store, 3000, 'r'.repeat(1024));
		const { client, connection, stream, writing } = await start(store, null);
		await client.readUntil(() => client.events.length >= 10);
		await client.cancel();
		await writing;
		expect(connection.closed).toBe(true);
		expect(stream.live).toBe(false);
		expect(stream.lastSeq).toBeLessThan(3000);
	});
});
