// The behaviour of `SSEClient` that any EventSource must show, as one suite registered once per
// EventSource: the scripted fake (src/lib/client/client-suite.fake.test.ts) and the real
// `eventsource` package over real HTTP (tests/client/client-suite.eventsource.test.ts). The
// server side is scripted in both, so each test says exactly what the stream carries, and what
// passes on both is what the fake may be trusted to model.
//
// Test-only: it is not exported from the library.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
	type EventSourceConstructor,
	SSEClient,
	type SSEClientError,
	type SSEClientOptions,
	type SSEEventMeta,
	type SSEGap,
} from '../client/sse-client.svelte.js';

/** One connection attempt as the server sees it, not answered yet. */
export interface StreamRequest {
	/** The path and query the client asked for (`/events?topics=chat&client=…`). */
	readonly url: string;
	/** The `topics` query parameters, in order. */
	readonly topics: string[];
	/** The position to resume from: the `Last-Event-ID` header (sent by an EventSource on its own
	 * reconnects) or else the `lastEventId` query parameter (sent by the client), as the hub reads it. */
	readonly lastEventId: string | null;
	/** A query parameter, or null. */
	param(name: string): string | null;
	/** True once this connection is over: the client closed it, or the server ended it. */
	readonly closed: boolean;
	/** Answers 200 with `text/event-stream`: the stream is open. */
	accept(): ServerStream;
	/** Answers with an HTTP error: the EventSource fails the connection and stops retrying. */
	refuse(status: number): void;
}

/** An open stream, written by the test. */
export interface ServerStream {
	readonly request: StreamRequest;
	/** One event frame with `data` as JSON; with an `id:` field when `id` is given. */
	emit(type: string, data: unknown, id?: string): void;
	/** One event frame whose `data:` is `text` as it is (bad JSON, for instance). */
	emitText(type: string, text: string, id?: string): void;
	/** The server ends the stream: the EventSource reconnects by itself, with Last-Event-ID. */
	end(): void;
	/** True once the stream is over: the client closed it, or the server ended it. */
	readonly closed: boolean;
}

/** The server side of one test. */
export interface ScriptedServer {
	/** The endpoint to give the client. */
	readonly url: string;
	/** The EventSource the client is given. */
	readonly EventSource: EventSourceConstructor;
	/** Connection attempts that reached the server so far. */
	readonly requestCount: number;
	/** The next connection attempt, once it arrives (attempts are handed out in order, once each). */
	nextRequest(): Promise<StreamRequest>;
	/** Every open stream breaks and the server is away for a moment; resolves once it is back. */
	restart(): Promise<void>;
	close(): Promise<void>;
}

export interface ClientSuiteOptions {
	/** What the EventSource is, for the suite's name. */
	name: string;
	/** A fresh server side for each test. */
	serve(): Promise<ScriptedServer> | ScriptedServer;
}

type Topics = { chat: { n: number }; logs: { line: string }; alerts: { level: number } };

/** How long "nothing more happens" is watched: longer than any backoff the suite's clients use. */
const QUIET_MS = 150;

/** Resolves when `predicate` holds, checked now and then every few ms (a fake's holds at once). */
async function until(what: string, predicate: () => boolean, timeoutMs = 5000) {
	const deadline = Date.now() + timeoutMs;
	while (!predicate()) {
		if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
		await new Promise((resolve) => setTimeout(resolve, 2));
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Records what handlers receive, in order. */
function recorder<T>() {
	const calls: Array<{ data: T; meta: SSEEventMeta }> = [];
	const handler = (data: T, meta: SSEEventMeta) => {
		calls.push({ data, meta });
	};
	return { calls, handler };
}

function errorsOf(options: { onError?: (error: SSEClientError) => void }) {
	const errors: SSEClientError[] = [];
	options.onError = (error) => errors.push(error);
	return errors;
}

export function describeSSEClient(options: ClientSuiteOptions): void {
	describe(`SSEClient on ${options.name}`, () => {
		let server: ScriptedServer;
		const clients: SSEClient<Topics>[] = [];

		beforeEach(async () => {
			server = await options.serve();
		});

		afterEach(async () => {
			for (const client of clients.splice(0)) client.close();
			vi.restoreAllMocks();
			await server.close();
		});

		/** A client on the server's EventSource that connects only when asked, and retries fast. */
		function makeClient(clientOptions: SSEClientOptions<Topics> = {}, query = '') {
			const client = new SSEClient<Topics>(`${server.url}${query}`, {
				EventSource: server.EventSource,
				autoConnect: false,
				reconnectWait: 20,
				maxReconnectWait: 40,
				...clientOptions,
			});
			clients.push(client);
			return client;
		}

		/** Connects `client` and accepts its stream. */
		async function connect(client: SSEClient<Topics>): Promise<ServerStream> {
			client.connect();
			return (await server.nextRequest()).accept();
		}

		/** Connects, accepts, and waits for the client to see the stream open. */
		async function connected(client: SSEClient<Topics>): Promise<ServerStream> {
			const stream = await connect(client);
			await until('the stream to open', () => client.status === 'connected');
			return stream;
		}

		/**
		 * Waits until the client has handled everything sent on `stream` so far: an `sse:ready`
		 * goes last, and the client leaves its replay when it reads it.
		 */
		async function settle(client: SSEClient<Topics>, stream: ServerStream): Promise<void> {
			expect(client.replaying, 'settle() needs a client still in its replay').toBe(true);
			stream.emit('sse:ready', { replayed: 0 });
			await until('sse:ready', () => !client.replaying);
		}

		/** No connection attempt reaches the server for a while. */
		async function quiet(): Promise<void> {
			const before = server.requestCount;
			await sleep(QUIET_MS);
			expect(server.requestCount, 'no new connection').toBe(before);
		}

		describe('status', () => {
			it('goes idle → connecting → connected → connecting (EventSource retrying) → error → idle', async () => {
				vi.spyOn(Math, 'random').mockReturnValue(1); // the retry after an HTTP error: at 50 ms
				const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 50 });
				expect(client.status).toBe('idle');
				expect(server.requestCount).toBe(0);

				client.connect();
				expect(client.status).toBe('connecting');
				const stream = await (await server.nextRequest()).accept();
				await until('connected', () => client.status === 'connected');
				expect(client.error).toBeNull();

				// The stream ends and the EventSource reconnects by itself: no error yet.
				stream.end();
				await until('connecting', () => client.status === 'connecting');
				expect(client.error).toBeNull();
				const again = (await server.nextRequest()).accept();
				await until('connected again', () => client.status === 'connected');

				// Its next reconnect is refused: the EventSource gives up; the client reports it and waits.
				again.end();
				(await server.nextRequest()).refuse(502);
				await until('error', () => client.status === 'error');
				expect(client.error?.code).toBe('connection');

				client.close();
				expect(client.status).toBe('idle');
				await quiet();
			});

			it('clears the error on the next successful open', async () => {
				const client = makeClient({ topics: { chat: () => {} } });
				client.connect();
				(await server.nextRequest()).refuse(502);
				await until('the error', () => client.error !== null);
				expect(client.error?.status).toBe(502);
				const retry = await server.nextRequest();
				expect(client.status).toBe('connecting');
				retry.accept();
				await until('connected', () => client.status === 'connected');
				expect(client.error).toBeNull();
			});

			it('stops on HTTP 401 with code unauthorized until connect() is called again', async () => {
				const errors: SSEClientError[] = [];
				const client = makeClient({ topics: { chat: () => {} }, onError: (e) => errors.push(e) });
				client.connect();
				(await server.nextRequest()).refuse(401);
				await until('the error', () => client.error !== null);
				expect(client.status).toBe('error');
				expect(client.error?.code).toBe('unauthorized');
				expect(client.error?.status).toBe(401);
				expect(errors.map((error) => error.code)).toEqual(['unauthorized']);
				await quiet();

				client.connect();
				expect(client.status).toBe('connecting');
				await server.nextRequest();
			});
		});

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
				expect(logs.calls).toEqual([
					{ data: { line: 'boot' }, meta: { topic: 'logs', id: 'e-2' } },
				]);
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
				const request = await server.nextRequest();
				const path = new URL(server.url, 'http://localhost').pathname;
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

				const next = await server.nextRequest();
				expect(server.requestCount).toBe(2);
				expect(next.topics).toEqual(['chat', 'logs', 'alerts']);
				expect(next.param('lastEventId')).toBe('e-5');
				await until('the old stream to close', () => old.closed);
			});

			it('removeTopics and nextTopics', async () => {
				const { client, stream } = await connectedAt('e-5');
				client.updateTopics({ removeTopics: ['chat'] });
				const second = await server.nextRequest();
				expect(second.topics).toEqual(['logs']);
				client.updateTopics({ nextTopics: ['alerts', 'chat'] });
				const third = await server.nextRequest();
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
				expect(server.requestCount).toBe(1);
				expect(stream.closed).toBe(false);
				expect(client.status).toBe('connected');
			});

			it('before connect(), only records the topics; connect() uses them', async () => {
				const client = makeClient({ topics: { chat: () => {} } });
				client.updateTopics({ addTopics: ['logs'] });
				await quiet();
				expect(server.requestCount).toBe(0);
				client.connect();
				expect((await server.nextRequest()).topics).toEqual(['chat', 'logs']);
			});

			it('delivers events of an added topic to its on() listener', async () => {
				const alerts = recorder<{ level: number }>();
				const { client } = await connectedAt('e-5');
				client.on('alerts', alerts.handler);
				client.updateTopics({ addTopics: ['alerts'] });
				const stream = (await server.nextRequest()).accept();
				stream.emit('alerts', { level: 2 }, 'e-6');
				await until('alerts', () => alerts.calls.length === 1);
				expect(alerts.calls).toEqual([
					{ data: { level: 2 }, meta: { topic: 'alerts', id: 'e-6' } },
				]);
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
				(await server.nextRequest()).refuse(503);
				const again = await server.nextRequest();
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
				const request = await server.nextRequest();
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
				const request = await server.nextRequest();
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
				const request = await server.nextRequest();
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

				await server.restart();
				const request = await server.nextRequest();
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
				const stream = (await server.nextRequest()).accept();
				stream.emit('chat', { n: 1 }, 'e-1');
				await until('e-1', () => client.topicCounters.chat === 1);
				expect(client.replaying).toBe(true);
				stream.emit('sse:ready', { replayed: 1 });
				await until('sse:ready', () => !client.replaying);

				// The EventSource reconnects by itself: replaying again.
				stream.end();
				await until('replaying', () => client.replaying);
				// That reconnect is refused, and the client opens its own: replaying still.
				(await server.nextRequest()).refuse(503);
				const again = await server.nextRequest();
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
				expect((await server.nextRequest()).param('lastEventId')).toBe('ep-7');
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
				expect((await server.nextRequest()).param('lastEventId')).toBe('ep-0');
			});

			it('names itself with a client id that stays the same across its reconnects', async () => {
				const client = makeClient({ topics: { chat: () => {} } });
				client.connect();
				const id = (await server.nextRequest()).param('client');
				expect(id).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
				client.updateTopics({ addTopics: ['logs'] });
				const second = await server.nextRequest();
				expect(second.param('client')).toBe(id);
				second.refuse(503);
				expect((await server.nextRequest()).param('client')).toBe(id);
				makeClient({ topics: { chat: () => {} } }).connect();
				expect((await server.nextRequest()).param('client')).not.toBe(id);
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
				const next = await server.nextRequest();
				expect(server.requestCount).toBe(2);
				expect(next.param('lastEventId')).toBe('e-4');
				await until('the first stream to close', () => first.closed);
				expect(next.closed).toBe(false);
			});
		});
	});
}
