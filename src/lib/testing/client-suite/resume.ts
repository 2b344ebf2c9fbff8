// The client suite's tests of resuming: the replay flag, the position the server states and
// the client sends back, and gaps (expired history, a new epoch, a restart).
import { describe, expect, it } from 'vitest';
import type { SSEClientOptions, SSEGap } from '../../client/sse-client.svelte.js';
import { type ClientSuiteHarness, errorsOf, recorder, type Topics, until } from './harness.js';

export function resumeTests(suite: ClientSuiteHarness): void {
	const { makeClient, connect, connected } = suite;

	describe('gaps', () => {
		it('sse:gap calls onGap with { reason, topics }', async () => {
			const gaps: SSEGap[] = [];
			const clientOptions: SSEClientOptions<Topics> = {
				topics: { chat: () => {} },
				onGap: (gap) => gaps.push(gap),
			};
			const errors = errorsOf(clientOptions);
			const stream = await connect(makeClient(clientOptions));
			stream.emit('sse:gap', { reason: 'expired', topics: ['chat'] });
			await until('the gap', () => gaps.length === 1);
			expect(gaps).toEqual([{ reason: 'expired', topics: ['chat'] }]);
			stream.emitText('sse:gap', 'nope');
			await until('the parse error', () => errors.length === 1);
			expect(gaps).toHaveLength(1);
			expect(errors.map((error) => error.code)).toEqual(['parse']);
		});

		it('after an epoch or malformed gap, delivers what comes even with lower seqs', async () => {
			const chat = recorder<{ n: number }>();
			const gaps: string[] = [];
			const client = makeClient({
				topics: { chat: chat.handler },
				onGap: (gap) => gaps.push(gap.reason),
			});
			const stream = await connect(client);
			stream.emit('chat', { n: 9 }, 'ep-9');
			// A store restored from a snapshot numbers again from below 9 in the same epoch name.
			stream.emit('sse:gap', { reason: 'malformed', topics: ['chat'] });
			stream.emit('chat', { n: 6 }, 'ep-6');
			stream.emit('chat', { n: 7 }, 'ep-7');
			await until('ep-7', () => client.lastEventID === 'ep-7');
			expect(chat.calls.map((call) => call.data.n)).toEqual([9, 6, 7]);
			stream.emit('sse:gap', { reason: 'epoch', topics: ['chat'] });
			stream.emit('chat', { n: 1 }, 'ep-1');
			await until('ep-1', () => chat.calls.length === 4);
			expect(chat.calls.map((call) => call.data.n)).toEqual([9, 6, 7, 1]);
			expect(gaps).toEqual(['malformed', 'epoch']);
		});

		it('comes back after a server restart and takes the new epoch from its sse:gap', async () => {
			const chat = recorder<{ n: number }>();
			const gaps: string[] = [];
			const client = makeClient({
				topics: { chat: chat.handler },
				onGap: (gap) => gaps.push(gap.reason),
			});
			const stream = await connected(client);
			stream.emit('chat', { n: 1 }, 'old-8');
			stream.emit('chat', { n: 2 }, 'old-9');
			await until('old-9', () => client.lastEventID === 'old-9');

			await suite.server.restart();
			const request = await suite.server.nextRequest();
			expect(request.lastEventId).toBe('old-9');
			const back = request.accept();
			back.emit('sse:gap', { reason: 'epoch', topics: ['chat'] });
			back.emit('chat', { n: 3 }, 'new-1');
			await until('new-1', () => client.lastEventID === 'new-1');
			expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3]);
			expect(gaps).toEqual(['epoch']);
			expect(client.status).toBe('connected');
			expect(client.error).toBeNull();
		});
	});

	describe('replay and position', () => {
		it('replaying is true from connecting until sse:ready, and again on a reconnect', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			expect(client.replaying).toBe(false);
			client.connect();
			expect(client.replaying).toBe(true);
			const stream = (await suite.server.nextRequest()).accept();
			stream.emit('chat', { n: 1 }, 'e-1');
			await until('e-1', () => client.topicCounters.chat === 1);
			expect(client.replaying).toBe(true);
			stream.emit('sse:ready', { replayed: 1 });
			await until('sse:ready', () => !client.replaying);

			// The EventSource reconnects by itself: replaying again.
			stream.end();
			await until('replaying', () => client.replaying);
			// That reconnect is refused, and the client opens its own: replaying still.
			(await suite.server.nextRequest()).refuse(503);
			const again = await suite.server.nextRequest();
			expect(client.replaying).toBe(true);
			again.accept().emit('sse:ready', { replayed: 0 });
			await until('sse:ready', () => !client.replaying);
		});

		it('takes the position sse:ready states, so a client that got no event yet resumes from it', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			const stream = await connected(client);
			stream.emit('sse:ready', { replayed: 0, lastEventId: 'ep-7' });
			await until('ep-7', () => client.lastEventID === 'ep-7');
			stream.end(); // its EventSource holds no position: the client reopens with the stated one
			expect((await suite.server.nextRequest()).param('lastEventId')).toBe('ep-7');
		});

		it('never moves back to an older stated position of the same epoch; a new epoch replaces it', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			const stream = await connect(client);
			stream.emit('chat', { n: 9 }, 'ep-9');
			stream.emit('sse:ready', { replayed: 1, lastEventId: 'ep-4' });
			await until('sse:ready', () => !client.replaying);
			expect(client.lastEventID).toBe('ep-9');
			stream.emit('sse:gap', { reason: 'epoch', topics: ['chat'] });
			stream.emit('sse:ready', { replayed: 0, lastEventId: 'next-2' });
			await until('next-2', () => client.lastEventID === 'next-2');
		});

		it('takes a stated position of seq 0 (a store with no event yet)', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			const stream = await connect(client);
			stream.emit('sse:ready', { replayed: 0, lastEventId: 'ep-0' }, 'ep-0');
			await until('ep-0', () => client.lastEventID === 'ep-0');
			client.close();
			client.connect();
			expect((await suite.server.nextRequest()).param('lastEventId')).toBe('ep-0');
		});

		it('names itself with a client id that stays the same across its reconnects', async () => {
			const client = makeClient({ topics: { chat: () => {} } });
			client.connect();
			const id = (await suite.server.nextRequest()).param('client');
			expect(id).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
			client.updateTopics({ addTopics: ['logs'] });
			const second = await suite.server.nextRequest();
			expect(second.param('client')).toBe(id);
			second.refuse(503);
			expect((await suite.server.nextRequest()).param('client')).toBe(id);
			makeClient({ topics: { chat: () => {} } }).connect();
			expect((await suite.server.nextRequest()).param('client')).not.toBe(id);
		});
	});
}
