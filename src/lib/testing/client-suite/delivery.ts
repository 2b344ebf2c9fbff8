// The client suite's tests of delivery: handlers, counters and lastEventID, and the duplicates
// a replay brings, dropped by id.
import { describe, expect, it } from 'vitest';
import { type ClientSuiteHarness, recorder, until } from './harness.js';

export function deliveryTests(suite: ClientSuiteHarness): void {
	const { makeClient, connect, connected, settle } = suite;

	describe('dispatch', () => {
		it('calls topic handlers and on() listeners with (data, { topic, id }); unsubscribe stops one', async () => {
			const chat = recorder<{ n: number }>();
			const logs = recorder<{ line: string }>();
			const extra = recorder<{ n: number }>();
			const client = makeClient({ topics: { chat: chat.handler, logs: logs.handler } });
			const unsubscribe = client.on('chat', extra.handler);
			const stream = await connected(client);

			stream.emit('chat', { n: 1 }, 'e-1');
			stream.emit('logs', { line: 'boot' }, 'e-2');
			await until('logs', () => logs.calls.length === 1);
			unsubscribe();
			stream.emit('chat', { n: 3 }, 'e-3');
			await until('chat 3', () => chat.calls.length === 2);

			expect(chat.calls).toEqual([
				{ data: { n: 1 }, meta: { topic: 'chat', id: 'e-1' } },
				{ data: { n: 3 }, meta: { topic: 'chat', id: 'e-3' } },
			]);
			expect(logs.calls).toEqual([{ data: { line: 'boot' }, meta: { topic: 'logs', id: 'e-2' } }]);
			expect(extra.calls).toEqual([{ data: { n: 1 }, meta: { topic: 'chat', id: 'e-1' } }]);
		});

		it('counts per topic and moves lastEventID to the newest id', async () => {
			const client = makeClient({ topics: { chat: () => {}, logs: () => {} } });
			const stream = await connected(client);
			expect(client.topicCounters).toEqual({});
			expect(client.lastEventID).toBeNull();

			stream.emit('chat', { n: 1 }, 'e-1');
			stream.emit('chat', { n: 2 }, 'e-2');
			stream.emit('logs', { line: 'x' }, 'e-7');
			await until('e-7', () => client.lastEventID === 'e-7');
			expect(client.topicCounters).toEqual({ chat: 2, logs: 1 });
		});

		it('puts one topics= parameter per topic in the URL, keeping the query already there', async () => {
			const client = makeClient({ topics: { chat: () => {}, logs: () => {} } }, '?v=2');
			client.connect();
			const request = await suite.server.nextRequest();
			const path = new URL(suite.server.url, 'http://localhost').pathname;
			expect(request.url).toMatch(
				new RegExp(`^${path}\\?v=2&topics=chat&topics=logs&client=[\\w-]+$`),
			);
			expect(request.topics).toEqual(['chat', 'logs']);
			expect(request.param('lastEventId')).toBeNull();
			expect(request.lastEventId).toBeNull();
			expect(client.topics).toEqual(['chat', 'logs']);
		});

		it('ignores events of topics it did not subscribe to', async () => {
			const alerts = recorder<{ level: number }>();
			const client = makeClient({ topics: { chat: () => {} } });
			client.on('alerts', alerts.handler);
			const stream = await connect(client);
			stream.emit('alerts', { level: 1 }, 'e-1');
			await settle(client, stream);
			expect(alerts.calls).toEqual([]);
			expect(client.topicCounters).toEqual({});
		});
	});

	describe('duplicates', () => {
		it('drops an event whose seq is at or below the last delivered for its topic', async () => {
			const chat = recorder<{ n: number }>();
			const logs = recorder<{ line: string }>();
			const client = makeClient({ topics: { chat: chat.handler, logs: logs.handler } });
			const stream = await connect(client);
			stream.emit('chat', { n: 1 }, 'ep1-1');
			stream.emit('chat', { n: 2 }, 'ep1-2');
			stream.emit('chat', { n: 1 }, 'ep1-1'); // lower
			stream.emit('chat', { n: 2 }, 'ep1-2'); // same
			// Per topic: logs has delivered nothing, so its seq 1 is new.
			stream.emit('logs', { line: 'a' }, 'ep1-1');
			await until('logs', () => logs.calls.length === 1);

			expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2]);
			expect(logs.calls.map((call) => call.meta.id)).toEqual(['ep1-1']);
			expect(client.topicCounters).toEqual({ chat: 2, logs: 1 });
			expect(client.lastEventID).toBe('ep1-2');
		});

		it('drops what its own reconnect replays again', async () => {
			const chat = recorder<{ n: number }>();
			const client = makeClient({ topics: { chat: chat.handler } });
			const stream = await connect(client);
			stream.emit('chat', { n: 1 }, 'ep1-1');
			stream.emit('chat', { n: 2 }, 'ep1-2');
			await until('two events', () => chat.calls.length === 2);
			// The EventSource's reconnect is refused, so the client opens a new one itself.
			stream.end();
			(await suite.server.nextRequest()).refuse(503);
			const again = await suite.server.nextRequest();
			expect(again.param('lastEventId')).toBe('ep1-2');
			const replay = again.accept();
			replay.emit('chat', { n: 1 }, 'ep1-1');
			replay.emit('chat', { n: 2 }, 'ep1-2');
			replay.emit('chat', { n: 3 }, 'ep1-3');
			await until('ep1-3', () => client.lastEventID === 'ep1-3');
			expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3]);
		});

		it('drops the last delivered event when its EventSource reconnect replays it first', async () => {
			// The id-less heuristic compares an event's id with the one before it on the stream: a
			// reconnect opens a new stream, so the last id of the old one must not count.
			const chat = recorder<{ n: number }>();
			const client = makeClient({ topics: { chat: chat.handler } });
			const stream = await connected(client);
			stream.emit('chat', { n: 5 }, 'ep-5');
			await until('ep-5', () => chat.calls.length === 1);
			stream.end(); // the EventSource reconnects by itself, sending Last-Event-ID: ep-5
			const request = await suite.server.nextRequest();
			expect(request.lastEventId).toBe('ep-5');
			const again = request.accept();
			again.emit('chat', { n: 5 }, 'ep-5'); // a rarely updated topic: its one retained event
			again.emit('chat', { n: 6 }, 'ep-6');
			await until('ep-6', () => client.lastEventID === 'ep-6');
			expect(chat.calls.map((call) => call.data.n)).toEqual([5, 6]);
			expect(client.topicCounters).toEqual({ chat: 2 });
		});

		it('takes topic names alone and delivers to on() listeners', async () => {
			const chat = recorder<{ n: number }>();
			const client = makeClient({ topics: ['chat', 'logs', 'chat'] });
			client.on('chat', chat.handler);
			client.connect();
			expect(client.topics).toEqual(['chat', 'logs']);
			const request = await suite.server.nextRequest();
			expect(request.topics).toEqual(['chat', 'logs']);
			request.accept().emit('chat', { n: 1 }, 'ep1-1');
			await until('chat', () => chat.calls.length === 1);
			expect(chat.calls.map((call) => call.data.n)).toEqual([1]);
		});

		it('never drops an event that had no id of its own (the spec repeats the previous id on it)', async () => {
			const chat = recorder<{ n: number }>();
			const client = makeClient({ topics: { chat: chat.handler } });
			const stream = await connect(client);
			stream.emit('chat', { n: 1 }, 'ep1-1');
			stream.emit('chat', { n: 2 }); // no id: field; a browser gives it lastEventId 'ep1-1'
			stream.emit('chat', { n: 3 });
			await until('three events', () => chat.calls.length === 3);
			expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3]);
			expect(chat.calls.map((call) => call.meta.id)).toEqual(['ep1-1', '', '']);
			expect(client.lastEventID).toBe('ep1-1');
		});

		it('starts afresh on a new epoch (the server restarted)', async () => {
			const chat = recorder<{ n: number }>();
			const client = makeClient({ topics: { chat: chat.handler } });
			const stream = await connect(client);
			stream.emit('chat', { n: 50 }, 'old-50');
			stream.emit('chat', { n: 1 }, 'new-1');
			stream.emit('chat', { n: 2 }, 'new-2');
			stream.emit('chat', { n: 1 }, 'new-1');
			await settle(client, stream);
			expect(chat.calls.map((call) => call.meta.id)).toEqual(['old-50', 'new-1', 'new-2']);
			expect(client.lastEventID).toBe('new-2');
		});

		it("delivers an added topic's older history without moving lastEventID backwards", async () => {
			const chat = recorder<{ n: number }>();
			const alerts = recorder<{ level: number }>();
			const client = makeClient({ topics: { chat: chat.handler } });
			client.on('alerts', alerts.handler);
			const first = await connect(client);
			first.emit('chat', { n: 10 }, 'ep-10');
			await until('ep-10', () => client.lastEventID === 'ep-10');

			client.updateTopics({ addTopics: ['alerts'] });
			const request = await suite.server.nextRequest();
			expect(request.param('lastEventId')).toBe('ep-10');
			const stream = request.accept();
			// The hub replays the new topic's history (older seqs) merged with chat's, by seq.
			stream.emit('alerts', { level: 3 }, 'ep-3');
			stream.emit('alerts', { level: 7 }, 'ep-7');
			stream.emit('chat', { n: 10 }, 'ep-10'); // an extra replay: dropped
			await settle(client, stream);
			expect(alerts.calls.map((call) => call.meta.id)).toEqual(['ep-3', 'ep-7']);
			expect(chat.calls).toHaveLength(1);
			expect(client.lastEventID).toBe('ep-10');

			stream.emit('chat', { n: 11 }, 'ep-11');
			await until('ep-11', () => client.lastEventID === 'ep-11');
			expect(client.topicCounters).toEqual({ chat: 2, alerts: 2 });
		});

		it('delivers events without a hub id (no id, or a foreign one) and never drops them', async () => {
			const chat = recorder<{ n: number }>();
			const client = makeClient({ topics: { chat: chat.handler } });
			const stream = await connect(client);
			stream.emit('chat', { n: 1 });
			stream.emit('chat', { n: 2 });
			stream.emit('chat', { n: 3 }, 'not a hub id');
			stream.emit('chat', { n: 4 }, 'not a hub id');
			await until('four events', () => chat.calls.length === 4);
			expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3, 4]);
			expect(client.lastEventID).toBe('not a hub id');
		});
	});
}
