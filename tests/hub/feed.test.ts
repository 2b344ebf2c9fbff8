/**
 * The hub's side of a feed in doubt, with a shared store whose feed the test scripts (which
 * events it brings, when it is in doubt, when a read answers), served over real HTTP to the real
 * `eventsource` client. The Redis suites (tests/redis-scale.test.ts) cause the same with real
 * connection faults; here the orderings those cannot pin down are forced.
 */
import { describe, expect, it } from 'vitest';
import type {
	HistoryStore,
	LiveHandlers,
	ReadQuery,
	StoredEvent,
} from '../../src/lib/server/history/index.js';
import { memoryHistory } from '../../src/lib/server/history/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { dataEvents, type Received } from '../helpers/sse-client.js';

type Topics = { chat: { n: number } };
const fixture = hubFixture<Topics>(['chat']);

/**
 * A memory store that acts as a shared one: its feed brings only what the test passes to
 * `bring`, and while `gate` is set, a read's answer (made at once) waits for `gate.open()`.
 */
function scriptedStore() {
	const base = memoryHistory();
	let handlers: LiveHandlers | undefined;
	let gate: { opened: Promise<void>; open: () => void; reads: number } | undefined;
	let epoch: string | undefined;
	const store: HistoryStore = {
		...base,
		async read(query: ReadQuery) {
			const result = await base.read(query);
			if (gate) {
				gate.reads++;
				await gate.opened;
			}
			return result;
		},
		async epoch() {
			return epoch ?? base.epoch();
		},
		async listen(live) {
			handlers = live;
			return async () => {
				handlers = undefined;
			};
		},
	};
	const feed = () => handlers as LiveHandlers;
	return {
		store,
		/** The newest retained event of `topic`, read past the gate. */
		async newest(topic: string): Promise<StoredEvent> {
			const query = { session: '-', cursors: [{ topic, last: 1 }], limit: 1 };
			return (await base.read(query)).events[0] as StoredEvent;
		},
		/** From now on the store names another lifetime (a Redis that came back empty). */
		renameEpoch(name: string) {
			epoch = name;
		},
		bring: (event: StoredEvent) => feed().onEvent(event),
		doubt: () => feed().onDoubt(),
		resync: () => feed().onResync(),
		/** Reads answer only once the returned function is called; `reads()` counts those held. */
		holdReads() {
			let open = () => {};
			const opened = new Promise<void>((resolve) => {
				open = resolve;
			});
			const held = { opened, open, reads: 0 };
			gate = held;
			return {
				reads: () => held.reads,
				release() {
					if (gate === held) gate = undefined;
					held.open();
				},
			};
		},
	};
}

const ids = (received: Received[]) => dataEvents(received).map((r) => r.id);

describe('a feed in doubt', () => {
	it('holds live events from the doubt until the catch-up, and catches up again after a doubt that came during one', async () => {
		const shared = scriptedStore();
		const { hub, origin } = await fixture.start({ history: shared.store });
		const client = fixture.open(`${origin}/?topics=chat`);
		await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
		const publish = async (n: number) => {
			await hub.publish('chat', { n });
			return shared.newest('chat');
		};
		const e1 = await publish(1);
		shared.bring(e1);
		await client.until((r) => ids(r).includes(e1.id), 'the first event');

		shared.doubt();
		const e2 = await publish(2); // the feed misses it
		const e3 = await publish(3);
		shared.bring(e3); // and brings the next: it must wait, or 2 would be skipped
		const reads = shared.holdReads();
		shared.resync();
		await expect.poll(reads.reads).toBe(1); // the catch-up has read (2 and 3), not yet written
		shared.doubt(); // and the feed is in doubt again before it is written
		const e4 = await publish(4); // missed, after that read
		reads.release();
		// The first catch-up's events go out, but the stream stays held: 4 may still be missing.
		await client.until((r) => ids(r).includes(e3.id), 'the first catch-up');
		const e5 = await publish(5);
		shared.bring(e5);
		shared.resync();
		await client.until((r) => ids(r).includes(e5.id), 'the second catch-up');
		const e6 = await publish(6);
		shared.bring(e6); // live again
		await client.until((r) => ids(r).includes(e6.id), 'the live event');
		expect(ids(client.received)).toEqual([e1, e2, e3, e4, e5, e6].map((e) => e.id));
	});

	it('holds a stream opened while the feed is in doubt until the catch-up', async () => {
		const shared = scriptedStore();
		const { hub, origin } = await fixture.start({ history: shared.store });
		shared.doubt();
		const client = fixture.open(`${origin}/?topics=chat`);
		await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'ready');
		await hub.publish('chat', { n: 1 }); // missed by the feed
		const e1 = await shared.newest('chat');
		await hub.publish('chat', { n: 2 });
		const e2 = await shared.newest('chat');
		shared.bring(e2); // brought while in doubt: held, not sent before 1
		shared.resync();
		await client.until((r) => dataEvents(r).length >= 2, 'both events');
		expect(ids(client.received)).toEqual([e1.id, e2.id]);
	});

	it('after a new epoch, states its start as the position, so a drop then resumes in it', async () => {
		const shared = scriptedStore();
		const { origin } = await fixture.start({ history: shared.store });
		const response = await fetch(`${origin}/?topics=chat`);
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		let text = '';
		const readUntil = async (marker: string) => {
			for (let reads = 0; reads < 50 && !text.includes(marker); reads++) {
				text += new TextDecoder().decode((await reader.read()).value);
			}
		};
		try {
			await readUntil('event: sse:ready');
			shared.renameEpoch('fresh');
			shared.doubt();
			shared.resync();
			await readUntil('id: fresh-0');
			const gap = text.indexOf('event: sse:gap\ndata: {"reason":"epoch","topics":["chat"]}\n\n');
			expect(gap).toBeGreaterThan(text.indexOf('event: sse:ready'));
			expect(text.indexOf('id: fresh-0\n\n')).toBeGreaterThan(gap);
		} finally {
			await reader.cancel();
		}
	});
});
