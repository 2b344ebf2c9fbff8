// The client suite's tests of the connection: its status through drops, refusals and reconnects,
// topic changes that reopen it in place, and close().
import { describe, expect, it, vi } from 'vitest';
import type { SSEClientError } from '../../client/sse-client.svelte.js';
import { type ClientSuiteHarness, recorder, until } from './harness.js';

export function connectionTests(suite: ClientSuiteHarness): void {
	const { makeClient, connect, connected, quiet } = suite;

	describe('status', () => {
		it('goes idle → connecting → connected → connecting (EventSource retrying) → error → idle', async () => {
			vi.spyOn(Math, 'random').mockReturnValue(1); // the retry after an HTTP error: at 50 ms
			const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 50 });
			expect(client.status).toBe('idle');
			expect(suite.server.requestCount).toBe(0);

			client.connect();
			expect(client.status).toBe('connecting');
			const stream = await (await suite.server.nextRequest()).accept();
			await until('connected', () => client.status === 'connected');
			expect(client.error).toBeNull();

			// The stream ends and the EventSource reconnects by itself: no error yet.
			stream.end();
			await until('connecting', () => client.status === 'connecting');
			expect(client.error).toBeNull();
			const again = (await suite.server.nextRequest()).accept();
			await until('connected again', () => client.status === 'connected');

			// Its next reconnect is refused: the EventSource gives up; the client reports it and waits.
			again.end();
			(await suite.server.nextRequest()).refuse(502);
			await until('error', () => client.status === 'error');
			expect(client.error?.code).toBe('connection');

			client.close();
			expect(client.status).toBe('idle');
			await quiet();
		});

		it('clears the error on the next successful open', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			client.connect();
			(await suite.server.nextRequest()).refuse(502);
			await until('the error', () => client.error !== null);
			expect(client.error?.status).toBe(502);
			const retry = await suite.server.nextRequest();
			expect(client.status).toBe('connecting');
			retry.accept();
			await until('connected', () => client.status === 'connected');
			expect(client.error).toBeNull();
		});

		it('stops on HTTP 401 with code unauthorized until connect() is called again', async () => {
			const errors: SSEClientError[] = [];
			const client = makeClient({ topics: { chat: () => {} }, onError: (e) => errors.push(e) });
			client.connect();
			(await suite.server.nextRequest()).refuse(401);
			await until('the error', () => client.error !== null);
			expect(client.status).toBe('error');
			expect(client.error?.code).toBe('unauthorized');
			expect(client.error?.status).toBe(401);
			expect(errors.map((error) => error.code)).toEqual(['unauthorized']);
			await quiet();

			client.connect();
			expect(client.status).toBe('connecting');
			await suite.server.nextRequest();
		});
	});

	describe('updateTopics', () => {
		async function connectedAt(position: string) {
			const client = makeClient({ topics: { chat: () => {}, logs: () => {} } });
			const stream = await connected(client);
			stream.emit('chat', { n: 1 }, position);
			await until(position, () => client.lastEventID === position);
			return { client, stream };
		}

		it('addTopics: a new connection with every topic and the position; the old one closed', async () => {
			const { client, stream: old } = await connectedAt('e-5');
			client.updateTopics({ addTopics: ['alerts'] });
			expect(client.topics).toEqual(['chat', 'logs', 'alerts']);
			expect(client.status).toBe('connecting');

			const next = await suite.server.nextRequest();
			expect(suite.server.requestCount).toBe(2);
			expect(next.topics).toEqual(['chat', 'logs', 'alerts']);
			expect(next.param('lastEventId')).toBe('e-5');
			await until('the old stream to close', () => old.closed);
		});

		it('removeTopics and nextTopics', async () => {
			const { client, stream } = await connectedAt('e-5');
			client.updateTopics({ removeTopics: ['chat'] });
			const second = await suite.server.nextRequest();
			expect(second.topics).toEqual(['logs']);
			client.updateTopics({ nextTopics: ['alerts', 'chat'] });
			const third = await suite.server.nextRequest();
			expect(third.topics).toEqual(['alerts', 'chat']);
			expect(third.param('lastEventId')).toBe('e-5');
			expect(client.topics).toEqual(['alerts', 'chat']);
			// Never more than one connection: each change closed the one before.
			await until('the earlier ones to close', () => stream.closed && second.closed);
			expect(third.closed).toBe(false);
		});

		it('does nothing when the set of topics is unchanged', async () => {
			const { client, stream } = await connectedAt('e-5');
			client.updateTopics({ addTopics: ['chat'] });
			client.updateTopics({ nextTopics: ['logs', 'chat'] });
			client.updateTopics({ removeTopics: ['alerts'] });
			client.updateTopics({});
			await quiet();
			expect(suite.server.requestCount).toBe(1);
			expect(stream.closed).toBe(false);
			expect(client.status).toBe('connected');
		});

		it('before connect(), only records the topics; connect() uses them', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			client.updateTopics({ addTopics: ['logs'] });
			await quiet();
			expect(suite.server.requestCount).toBe(0);
			client.connect();
			expect((await suite.server.nextRequest()).topics).toEqual(['chat', 'logs']);
		});

		it('delivers events of an added topic to its on() listener', async () => {
			const alerts = recorder<{ level: number }>();
			const { client } = await connectedAt('e-5');
			client.on('alerts', alerts.handler);
			client.updateTopics({ addTopics: ['alerts'] });
			const stream = (await suite.server.nextRequest()).accept();
			stream.emit('alerts', { level: 2 }, 'e-6');
			await until('alerts', () => alerts.calls.length === 1);
			expect(alerts.calls).toEqual([{ data: { level: 2 }, meta: { topic: 'alerts', id: 'e-6' } }]);
		});
	});

	describe('close()', () => {
		it('closes the connection and nothing reconnects', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			const stream = await connected(client);
			client.close();
			expect(client.status).toBe('idle');
			expect(client.replaying).toBe(false);
			await until('the stream to close', () => stream.closed);
			await quiet();
		});

		it('connect() after close() opens again from the same position', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			const first = await connect(client);
			first.emit('chat', { n: 1 }, 'e-4');
			await until('e-4', () => client.lastEventID === 'e-4');
			client.close();
			client.connect();
			const next = await suite.server.nextRequest();
			expect(suite.server.requestCount).toBe(2);
			expect(next.param('lastEventId')).toBe('e-4');
			await until('the first stream to close', () => first.closed);
			expect(next.closed).toBe(false);
		});
	});
}
