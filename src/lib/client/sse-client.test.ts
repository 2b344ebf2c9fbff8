/**
 * SSEClient in a browser-like environment (jsdom, Svelte's browser build) against a scripted
 * EventSource: every step of the connection is driven by hand, every timer is fake.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { FakeEventSource } from '../testing/fake-event-source.js';
import {
	SSEClient,
	type SSEClientError,
	type SSEClientOptions,
	type SSEEventMeta,
	type StandardSchemaLike,
} from './sse-client.svelte.js';

type Topics = { chat: { n: number }; logs: { line: string }; alerts: { level: number } };

const clients: SSEClient<Topics>[] = [];

/** A client on the fake EventSource that does not connect by itself unless asked. */
function makeClient(options: SSEClientOptions<Topics> = {}, url = '/api/events') {
	const client = new SSEClient<Topics>(url, {
		EventSource: FakeEventSource,
		autoConnect: false,
		...options,
	});
	clients.push(client);
	return client;
}

/** Records what handlers receive, in order. */
function recorder<T>() {
	const calls: Array<{ data: T; meta: SSEEventMeta }> = [];
	const handler = (data: T, meta: SSEEventMeta) => {
		calls.push({ data, meta });
	};
	return { calls, handler };
}

function errorsOf(options: { onError?: (error: SSEClientError) => void } = {}) {
	const errors: SSEClientError[] = [];
	options.onError = (error) => errors.push(error);
	return errors;
}

beforeEach(() => {
	FakeEventSource.reset();
});

afterEach(() => {
	for (const client of clients.splice(0)) client.close();
	vi.useRealTimers();
	vi.restoreAllMocks();
});

describe('status', () => {
	it('goes idle → connecting → connected → connecting (browser retrying) → error → idle', () => {
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		expect(client.status).toBe('idle');
		expect(FakeEventSource.instances).toHaveLength(0);

		client.connect();
		expect(client.status).toBe('connecting');
		const source = FakeEventSource.latest;

		source.open();
		expect(client.status).toBe('connected');
		expect(client.error).toBeNull();

		// The browser lost the stream and reconnects by itself: same EventSource, no error yet.
		source.error();
		expect(client.status).toBe('connecting');
		expect(client.error).toBeNull();
		source.open();
		expect(client.status).toBe('connected');

		// The browser gave up: the client reports it and waits to retry.
		source.error({ close: true });
		expect(client.status).toBe('error');
		expect(client.error?.code).toBe('connection');

		client.close();
		expect(client.status).toBe('idle');
		vi.runAllTimers();
		expect(FakeEventSource.instances).toHaveLength(1);
	});

	it('clears the error on the next successful open', () => {
		vi.useFakeTimers();
		vi.spyOn(Math, 'random').mockReturnValue(0.5);
		const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 1000 });
		client.connect();
		FakeEventSource.latest.error({ close: true, status: 502 });
		expect(client.error?.status).toBe(502);
		vi.advanceTimersByTime(500);
		expect(client.status).toBe('connecting');
		FakeEventSource.latest.open();
		expect(client.status).toBe('connected');
		expect(client.error).toBeNull();
	});
});

describe('dispatch', () => {
	it('calls topic handlers and on() listeners with (data, { topic, id }); unsubscribe stops one', () => {
		const chat = recorder<{ n: number }>();
		const logs = recorder<{ line: string }>();
		const extra = recorder<{ n: number }>();
		const client = makeClient({ topics: { chat: chat.handler, logs: logs.handler } });
		const unsubscribe = client.on('chat', extra.handler);
		client.connect();
		const source = FakeEventSource.latest;
		source.open();

		source.emitJSON('chat', { n: 1 }, 'e-1');
		source.emitJSON('logs', { line: 'boot' }, 'e-2');
		unsubscribe();
		source.emitJSON('chat', { n: 3 }, 'e-3');

		expect(chat.calls).toEqual([
			{ data: { n: 1 }, meta: { topic: 'chat', id: 'e-1' } },
			{ data: { n: 3 }, meta: { topic: 'chat', id: 'e-3' } },
		]);
		expect(logs.calls).toEqual([{ data: { line: 'boot' }, meta: { topic: 'logs', id: 'e-2' } }]);
		expect(extra.calls).toEqual([{ data: { n: 1 }, meta: { topic: 'chat', id: 'e-1' } }]);
	});

	it('counts per topic and moves lastEventID to the newest id', () => {
		const client = makeClient({ topics: { chat: () => {}, logs: () => {} } });
		client.connect();
		const source = FakeEventSource.latest;
		source.open();
		expect(client.topicCounters).toEqual({});
		expect(client.lastEventID).toBeNull();

		source.emitJSON('chat', { n: 1 }, 'e-1');
		source.emitJSON('chat', { n: 2 }, 'e-2');
		source.emitJSON('logs', { line: 'x' }, 'e-7');
		expect(client.topicCounters).toEqual({ chat: 2, logs: 1 });
		expect(client.lastEventID).toBe('e-7');
	});

	it('puts one topics= parameter per topic in the URL, keeping the query already there', () => {
		const client = makeClient({ topics: { chat: () => {}, logs: () => {} } }, '/api/events?v=2');
		client.connect();
		const source = FakeEventSource.latest;
		expect(source.url).toMatch(/^\/api\/events\?v=2&topics=chat&topics=logs&client=[\w-]+$/);
		expect(source.topics).toEqual(['chat', 'logs']);
		expect(source.param('lastEventId')).toBeNull();
		expect(client.topics).toEqual(['chat', 'logs']);
	});

	it('ignores events of topics it did not subscribe to', () => {
		const alerts = recorder<{ level: number }>();
		const client = makeClient({ topics: { chat: () => {} } });
		client.on('alerts', alerts.handler);
		client.connect();
		FakeEventSource.latest.emitJSON('alerts', { level: 1 }, 'e-1');
		expect(alerts.calls).toEqual([]);
		expect(client.topicCounters).toEqual({});
	});
});

describe('updateTopics', () => {
	function connectedAt(position: string) {
		const client = makeClient({ topics: { chat: () => {}, logs: () => {} } });
		client.connect();
		FakeEventSource.latest.open();
		FakeEventSource.latest.emitJSON('chat', { n: 1 }, position);
		return client;
	}

	it('addTopics: a new EventSource with every topic and the position; the old one closed', () => {
		const client = connectedAt('e-5');
		const old = FakeEventSource.latest;
		client.updateTopics({ addTopics: ['alerts'] });

		expect(FakeEventSource.instances).toHaveLength(2);
		expect(old.closed).toBe(true);
		expect(old.closeCalls).toBe(1);
		const next = FakeEventSource.latest;
		expect(next.topics).toEqual(['chat', 'logs', 'alerts']);
		expect(next.param('lastEventId')).toBe('e-5');
		expect(client.topics).toEqual(['chat', 'logs', 'alerts']);
		expect(client.status).toBe('connecting');
	});

	it('removeTopics and nextTopics', () => {
		const client = connectedAt('e-5');
		client.updateTopics({ removeTopics: ['chat'] });
		expect(FakeEventSource.latest.topics).toEqual(['logs']);
		client.updateTopics({ nextTopics: ['alerts', 'chat'] });
		expect(FakeEventSource.latest.topics).toEqual(['alerts', 'chat']);
		expect(FakeEventSource.latest.param('lastEventId')).toBe('e-5');
		expect(client.topics).toEqual(['alerts', 'chat']);
		expect(FakeEventSource.openInstances).toHaveLength(1);
	});

	it('does nothing when the set of topics is unchanged', () => {
		const client = connectedAt('e-5');
		client.updateTopics({ addTopics: ['chat'] });
		client.updateTopics({ nextTopics: ['logs', 'chat'] });
		client.updateTopics({ removeTopics: ['alerts'] });
		client.updateTopics({});
		expect(FakeEventSource.instances).toHaveLength(1);
		expect(FakeEventSource.latest.closed).toBe(false);
		expect(client.status).toBe('connected');
	});

	it('before connect(), only records the topics; connect() uses them', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.updateTopics({ addTopics: ['logs'] });
		expect(FakeEventSource.instances).toHaveLength(0);
		client.connect();
		expect(FakeEventSource.latest.topics).toEqual(['chat', 'logs']);
	});

	it('delivers events of an added topic to its on() listener', () => {
		const alerts = recorder<{ level: number }>();
		const client = connectedAt('e-5');
		client.on('alerts', alerts.handler);
		client.updateTopics({ addTopics: ['alerts'] });
		FakeEventSource.latest.emitJSON('alerts', { level: 2 }, 'e-6');
		expect(alerts.calls).toEqual([{ data: { level: 2 }, meta: { topic: 'alerts', id: 'e-6' } }]);
	});
});

describe('duplicates', () => {
	it('drops an event whose seq is at or below the last delivered for its topic', () => {
		const chat = recorder<{ n: number }>();
		const logs = recorder<{ line: string }>();
		const client = makeClient({ topics: { chat: chat.handler, logs: logs.handler } });
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 1 }, 'ep1-1');
		source.emitJSON('chat', { n: 2 }, 'ep1-2');
		source.emitJSON('chat', { n: 1 }, 'ep1-1'); // lower
		source.emitJSON('chat', { n: 2 }, 'ep1-2'); // same
		// Per topic: logs has delivered nothing, so its seq 1 is new.
		source.emitJSON('logs', { line: 'a' }, 'ep1-1');

		expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2]);
		expect(logs.calls.map((call) => call.meta.id)).toEqual(['ep1-1']);
		expect(client.topicCounters).toEqual({ chat: 2, logs: 1 });
		expect(client.lastEventID).toBe('ep1-2');
	});

	it('drops what a reconnect replays again', () => {
		vi.useFakeTimers();
		const chat = recorder<{ n: number }>();
		makeClient({ topics: { chat: chat.handler } }).connect();
		FakeEventSource.latest.emitJSON('chat', { n: 1 }, 'ep1-1');
		FakeEventSource.latest.emitJSON('chat', { n: 2 }, 'ep1-2');
		FakeEventSource.latest.error({ close: true });
		vi.runOnlyPendingTimers();
		const again = FakeEventSource.latest;
		expect(again.param('lastEventId')).toBe('ep1-2');
		again.emitJSON('chat', { n: 1 }, 'ep1-1');
		again.emitJSON('chat', { n: 2 }, 'ep1-2');
		again.emitJSON('chat', { n: 3 }, 'ep1-3');
		expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3]);
	});

	it('takes topic names alone and delivers to on() listeners', () => {
		const chat = recorder<{ n: number }>();
		const client = makeClient({ topics: ['chat', 'logs', 'chat'] });
		client.on('chat', chat.handler);
		client.connect();
		expect(client.topics).toEqual(['chat', 'logs']);
		expect(FakeEventSource.latest.topics).toEqual(['chat', 'logs']);
		FakeEventSource.latest.emitJSON('chat', { n: 1 }, 'ep1-1');
		expect(chat.calls.map((call) => call.data.n)).toEqual([1]);
	});

	it('never drops an event that had no id of its own (the spec repeats the previous id on it)', () => {
		const chat = recorder<{ n: number }>();
		const client = makeClient({ topics: { chat: chat.handler } });
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 1 }, 'ep1-1');
		source.emitJSON('chat', { n: 2 }); // no id: field, so it arrives with lastEventId 'ep1-1'
		source.emitJSON('chat', { n: 3 });
		expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3]);
		expect(chat.calls.map((call) => call.meta.id)).toEqual(['ep1-1', '', '']);
		expect(client.lastEventID).toBe('ep1-1');
	});

	it('starts afresh on a new epoch (the server restarted)', () => {
		const chat = recorder<{ n: number }>();
		const client = makeClient({ topics: { chat: chat.handler } });
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 50 }, 'old-50');
		source.emitJSON('chat', { n: 1 }, 'new-1');
		source.emitJSON('chat', { n: 2 }, 'new-2');
		source.emitJSON('chat', { n: 1 }, 'new-1');
		expect(chat.calls.map((call) => call.meta.id)).toEqual(['old-50', 'new-1', 'new-2']);
		expect(client.lastEventID).toBe('new-2');
	});

	it("delivers an added topic's older history without moving lastEventID backwards", () => {
		const chat = recorder<{ n: number }>();
		const alerts = recorder<{ level: number }>();
		const client = makeClient({ topics: { chat: chat.handler } });
		client.on('alerts', alerts.handler);
		client.connect();
		FakeEventSource.latest.emitJSON('chat', { n: 10 }, 'ep-10');

		client.updateTopics({ addTopics: ['alerts'] });
		const source = FakeEventSource.latest;
		expect(source.param('lastEventId')).toBe('ep-10');
		// The hub replays the new topic's history (older seqs) merged with chat's, by seq.
		source.emitJSON('alerts', { level: 3 }, 'ep-3');
		source.emitJSON('alerts', { level: 7 }, 'ep-7');
		source.emitJSON('chat', { n: 10 }, 'ep-10'); // an extra replay: dropped
		expect(alerts.calls.map((call) => call.meta.id)).toEqual(['ep-3', 'ep-7']);
		expect(chat.calls).toHaveLength(1);
		expect(client.lastEventID).toBe('ep-10');

		source.emitJSON('chat', { n: 11 }, 'ep-11');
		expect(client.lastEventID).toBe('ep-11');
		expect(client.topicCounters).toEqual({ chat: 2, alerts: 2 });
	});

	it('drops the last delivered event when a native reconnect replays it first', () => {
		// The id-less heuristic compares an event's id with the one before it on the stream: a
		// reconnect opens a new stream, so the last id of the old one must not count.
		const chat = recorder<{ n: number }>();
		const client = makeClient({ topics: { chat: chat.handler } });
		client.connect();
		const source = FakeEventSource.latest;
		source.open();
		source.emitJSON('chat', { n: 5 }, 'ep-5');
		source.error(); // the browser reconnects by itself, sending Last-Event-ID: ep-5
		source.open();
		source.emitJSON('chat', { n: 5 }, 'ep-5'); // a rarely updated topic: its one retained event
		source.emitJSON('chat', { n: 6 }, 'ep-6');
		expect(chat.calls.map((call) => call.data.n)).toEqual([5, 6]);
		expect(client.topicCounters).toEqual({ chat: 2 });
	});

	it('after an epoch or malformed gap, delivers what comes even with lower seqs', () => {
		const chat = recorder<{ n: number }>();
		const gaps: string[] = [];
		const client = makeClient({
			topics: { chat: chat.handler },
			onGap: (gap) => gaps.push(gap.reason),
		});
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 9 }, 'ep-9');
		// A store restored from a snapshot numbers again from below 9 in the same epoch name.
		source.emitJSON('sse:gap', { reason: 'malformed', topics: ['chat'] });
		source.emitJSON('chat', { n: 6 }, 'ep-6');
		source.emitJSON('chat', { n: 7 }, 'ep-7');
		expect(chat.calls.map((call) => call.data.n)).toEqual([9, 6, 7]);
		expect(client.lastEventID).toBe('ep-7');
		source.emitJSON('sse:gap', { reason: 'epoch', topics: ['chat'] });
		source.emitJSON('chat', { n: 1 }, 'ep-1');
		expect(chat.calls.map((call) => call.data.n)).toEqual([9, 6, 7, 1]);
		expect(gaps).toEqual(['malformed', 'epoch']);
	});

	it('delivers events without a hub id (no id, or a foreign one) and never drops them', () => {
		const chat = recorder<{ n: number }>();
		const client = makeClient({ topics: { chat: chat.handler } });
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 1 });
		source.emitJSON('chat', { n: 2 });
		source.emitJSON('chat', { n: 3 }, 'not a hub id');
		source.emitJSON('chat', { n: 4 }, 'not a hub id');
		expect(chat.calls.map((call) => call.data.n)).toEqual([1, 2, 3, 4]);
		expect(client.lastEventID).toBe('not a hub id');
	});
});

describe('reconnect backoff', () => {
	beforeEach(() => {
		vi.useFakeTimers();
		vi.spyOn(Math, 'random').mockReturnValue(0.5); // full jitter: wait = ceiling / 2
	});

	/** The browser gives up; asserts no new EventSource before `wait` ms, and one at `wait`. */
	function failAndExpectRetryAfter(wait: number, status?: number) {
		const before = FakeEventSource.instances.length;
		FakeEventSource.latest.error({ close: true, status });
		if (wait > 0) {
			vi.advanceTimersByTime(wait - 1);
			expect(FakeEventSource.instances, `no retry before ${wait} ms`).toHaveLength(before);
		}
		vi.advanceTimersByTime(1);
		expect(FakeEventSource.instances, `a retry at ${wait} ms`).toHaveLength(before + 1);
	}

	it('doubles the wait up to maxReconnectWait', () => {
		makeClient({
			topics: { chat: () => {} },
			reconnectWait: 1000,
			maxReconnectWait: 5000,
		}).connect();
		for (const wait of [500, 1000, 2000, 2500, 2500, 2500]) failAndExpectRetryAfter(wait);
	});

	it('uses 3000 ms doubling to 30000 ms by default', () => {
		makeClient({ topics: { chat: () => {} } }).connect();
		for (const wait of [1500, 3000, 6000, 12000, 15000, 15000]) failAndExpectRetryAfter(wait);
	});

	it('starts from the first step again after a successful open', () => {
		makeClient({ topics: { chat: () => {} }, reconnectWait: 1000 }).connect();
		failAndExpectRetryAfter(500);
		failAndExpectRetryAfter(1000);
		failAndExpectRetryAfter(2000);
		FakeEventSource.latest.open();
		failAndExpectRetryAfter(500);
	});

	it('spreads retries with jitter: the wait is random up to the ceiling', () => {
		makeClient({ topics: { chat: () => {} }, reconnectWait: 1000 }).connect();
		vi.mocked(Math.random).mockReturnValue(0.1);
		failAndExpectRetryAfter(100);
		vi.mocked(Math.random).mockReturnValue(0.9);
		failAndExpectRetryAfter(1800);
	});

	it.each([401, 403])('stops for good on %i with code unauthorized', (status) => {
		const errors: SSEClientError[] = [];
		const client = makeClient({ topics: { chat: () => {} }, onError: (e) => errors.push(e) });
		client.connect();
		FakeEventSource.latest.error({ close: true, status });

		expect(client.status).toBe('error');
		expect(client.error?.code).toBe('unauthorized');
		expect(client.error?.status).toBe(status);
		expect(errors.map((error) => error.code)).toEqual(['unauthorized']);
		vi.advanceTimersByTime(10 * 60_000);
		window.dispatchEvent(new Event('online'));
		expect(FakeEventSource.instances).toHaveLength(1);

		// Signed in again: connect() starts over.
		client.connect();
		expect(FakeEventSource.instances).toHaveLength(2);
		expect(client.status).toBe('connecting');
	});

	it.each([400, 500])('keeps retrying with backoff on %i, never in a tight loop', (status) => {
		const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 1000 });
		client.connect();
		for (const wait of [500, 1000, 2000, 4000]) {
			failAndExpectRetryAfter(wait, status);
			expect(client.error?.code).toBe('connection');
			expect(client.error?.status).toBe(status);
		}
		// Over one simulated minute of constant failures: a handful of attempts, not thousands.
		const start = FakeEventSource.instances.length;
		for (let step = 0; step < 60; step++) {
			const source = FakeEventSource.latest;
			if (!source.closed) source.error({ close: true, status });
			vi.advanceTimersByTime(1000);
		}
		expect(FakeEventSource.instances.length - start).toBeLessThanOrEqual(6);
		expect(FakeEventSource.instances.length - start).toBeGreaterThanOrEqual(2);
	});

	it('reads the status the `eventsource` package reports as `code`', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.error({ close: true, code: 401 });
		expect(client.error?.code).toBe('unauthorized');
		expect(client.error?.status).toBe(401);
	});

	it('reconnects at once when the browser comes back online while waiting', () => {
		const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 10_000 });
		client.connect();
		FakeEventSource.latest.open();
		window.dispatchEvent(new Event('online')); // connected: nothing to do
		expect(FakeEventSource.instances).toHaveLength(1);

		FakeEventSource.latest.error({ close: true });
		expect(FakeEventSource.instances).toHaveLength(1);
		window.dispatchEvent(new Event('online'));
		expect(FakeEventSource.instances).toHaveLength(2);
		expect(client.status).toBe('connecting');
		// The pending retry was cancelled: no second connection when it would have fired.
		vi.advanceTimersByTime(60_000);
		expect(FakeEventSource.instances).toHaveLength(2);
	});

	it('ignores online after close()', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.error({ close: true });
		client.close();
		window.dispatchEvent(new Event('online'));
		vi.runAllTimers();
		expect(FakeEventSource.instances).toHaveLength(1);
	});
});

describe('close()', () => {
	beforeEach(() => {
		vi.useFakeTimers();
	});

	it('closes the EventSource and nothing reconnects', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.open();
		client.close();
		expect(FakeEventSource.latest.closed).toBe(true);
		expect(client.status).toBe('idle');
		expect(client.replaying).toBe(false);
		vi.advanceTimersByTime(10 * 60_000);
		expect(FakeEventSource.instances).toHaveLength(1);
	});

	it('cancels a pending reconnect', () => {
		const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 1000 });
		client.connect();
		FakeEventSource.latest.error({ close: true });
		expect(vi.getTimerCount()).toBe(1);
		client.close();
		expect(vi.getTimerCount()).toBe(0);
		vi.advanceTimersByTime(10 * 60_000);
		expect(FakeEventSource.instances).toHaveLength(1);
		expect(client.status).toBe('idle');
	});

	it('connect() after close() opens again from the same position', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.emitJSON('chat', { n: 1 }, 'e-4');
		client.close();
		client.connect();
		expect(FakeEventSource.instances).toHaveLength(2);
		expect(FakeEventSource.latest.param('lastEventId')).toBe('e-4');
		expect(FakeEventSource.openInstances).toHaveLength(1);
	});
});

describe('one connection', () => {
	it('a thousand events cause no reconnect', () => {
		const chat = recorder<{ n: number }>();
		const client = makeClient({ topics: { chat: chat.handler } });
		client.connect();
		const source = FakeEventSource.latest;
		source.open();
		for (let n = 1; n <= 1000; n++) source.emitJSON('chat', { n }, `e-${n}`);
		expect(FakeEventSource.instances).toHaveLength(1);
		expect(chat.calls).toHaveLength(1000);
		expect(client.topicCounters.chat).toBe(1000);
		expect(client.lastEventID).toBe('e-1000');
		expect(client.status).toBe('connected');
	});

	it('never has two EventSources open at once, whatever happens', () => {
		vi.useFakeTimers();
		let seed = 7;
		const next = () => {
			seed = (seed * 1103515245 + 12345) % 2 ** 31;
			return seed / 2 ** 31;
		};
		vi.spyOn(Math, 'random').mockImplementation(next);
		const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 100 });
		client.connect();
		const topicSets = [['chat'], ['chat', 'logs'], ['logs', 'alerts']] as const;
		for (let step = 0; step < 500; step++) {
			const source = FakeEventSource.latest;
			const roll = Math.floor(next() * 8);
			if (roll === 0 && !source.closed) source.open();
			else if (roll === 1 && !source.closed) source.error();
			else if (roll === 2 && !source.closed) source.error({ close: true, status: 503 });
			else if (roll === 3) client.updateTopics({ nextTopics: topicSets[step % 3] });
			else if (roll === 4) window.dispatchEvent(new Event('online'));
			else if (roll === 5) vi.advanceTimersByTime(next() * 2000);
			else if (roll === 6 && step % 5 === 0) client.connect();
			else if (roll === 7 && !source.closed) source.emitJSON('chat', { n: step }, `e-${step + 1}`);
			expect(FakeEventSource.openInstances.length).toBeLessThanOrEqual(1);
		}
		expect(FakeEventSource.instances.length).toBeGreaterThan(20);
		expect(FakeEventSource.peakOpen).toBe(1);
	});
});

describe('bad events', () => {
	it('bad JSON goes to onError and client.error; the next event still arrives', () => {
		const chat = recorder<{ n: number }>();
		const options: SSEClientOptions<Topics> = { topics: { chat: chat.handler } };
		const errors = errorsOf(options);
		const client = makeClient(options);
		client.connect();
		const source = FakeEventSource.latest;
		source.emit('chat', '{not json', 'e-1');
		expect(chat.calls).toEqual([]);
		expect(errors).toHaveLength(1);
		expect(errors[0]?.code).toBe('parse');
		expect(errors[0]?.topic).toBe('chat');
		expect(client.error).toBe(errors[0]);

		source.emitJSON('chat', { n: 2 }, 'e-2');
		expect(chat.calls.map((call) => call.data)).toEqual([{ n: 2 }]);
	});

	it('a throwing handler goes to onError; other listeners and later events still run', () => {
		const after = recorder<{ n: number }>();
		const options: SSEClientOptions<Topics> = {
			topics: {
				chat: (data) => {
					if (data.n === 1) throw new Error('boom');
				},
			},
		};
		const errors = errorsOf(options);
		const client = makeClient(options);
		client.on('chat', after.handler);
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 1 }, 'e-1');
		source.emitJSON('chat', { n: 2 }, 'e-2');

		expect(errors.map((error) => [error.code, error.topic])).toEqual([['handler', 'chat']]);
		expect(errors[0]?.cause).toEqual(new Error('boom'));
		expect(client.error?.code).toBe('handler');
		expect(after.calls.map((call) => call.data.n)).toEqual([1, 2]);
		expect(client.topicCounters.chat).toBe(2);
	});

	it('data failing a zod schema goes to onError, not to the handler; valid data arrives parsed', () => {
		const chat = recorder<{ n: number }>();
		const options: SSEClientOptions<Topics> = {
			topics: { chat: chat.handler },
			schemas: { chat: z.object({ n: z.number() }) },
		};
		const errors = errorsOf(options);
		const client = makeClient(options);
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 'one' }, 'e-1');
		expect(chat.calls).toEqual([]);
		expect(errors.map((error) => [error.code, error.topic])).toEqual([['schema', 'chat']]);
		expect(client.error?.code).toBe('schema');

		// zod strips unknown keys: the handler gets the schema's output, not the raw JSON.
		source.emitJSON('chat', { n: 2, extra: true }, 'e-2');
		expect(chat.calls.map((call) => call.data)).toEqual([{ n: 2 }]);
		expect(client.topicCounters).toEqual({ chat: 1 });
	});

	it('an asynchronous schema keeps the order of events', async () => {
		const pending = new Map<number, () => void>();
		// A Standard Schema whose validation of n settles only when the test says so.
		const slow: StandardSchemaLike<{ n: number }> = {
			'~standard': {
				validate(value) {
					const { n } = value as { n: number };
					if (n === 4) return { value: { n } }; // synchronous, yet queued behind the others
					return new Promise((resolve) => {
						pending.set(n, () =>
							resolve(n === 2 ? { issues: [{ message: 'two is bad' }] } : { value: { n } }),
						);
					});
				},
			},
		};
		const received: number[] = [];
		let done!: () => void;
		const allDelivered = new Promise<void>((resolve) => {
			done = resolve;
		});
		const options: SSEClientOptions<Topics> = {
			topics: {
				chat: ({ n }) => {
					received.push(n);
					if (n === 4) done();
				},
			},
			schemas: { chat: slow },
		};
		const errors = errorsOf(options);
		makeClient(options).connect();
		const source = FakeEventSource.latest;
		for (const n of [1, 2, 3, 4]) source.emitJSON('chat', { n }, `e-${n}`);
		expect(received).toEqual([]);

		// Settle in reverse: delivery must still follow the stream's order.
		for (const n of [3, 2, 1]) pending.get(n)?.();
		await allDelivered;
		expect(received).toEqual([1, 3, 4]);
		expect(errors.map((error) => [error.code, error.topic])).toEqual([['schema', 'chat']]);
	});

	it('an asynchronous zod schema (async refine) works, and a throwing one is an error', async () => {
		const received: number[] = [];
		let done!: () => void;
		const fiveDelivered = new Promise<void>((resolve) => {
			done = resolve;
		});
		// A check that throws makes zod's validate reject (it retries asynchronously after a sync
		// throw). The throwing check is synchronous here: zod itself leaks an unhandled rejection
		// when an *async* check throws, from its first, synchronous attempt.
		const schema = z
			.object({ n: z.number() })
			.refine(({ n }) => {
				if (n === 3) throw new Error('the check itself failed');
				return true;
			})
			.refine(async ({ n }) => n !== 2);
		const options: SSEClientOptions<Topics> = {
			topics: {
				chat: ({ n }) => {
					received.push(n);
					if (n === 5) done();
				},
			},
			schemas: { chat: schema },
		};
		const errors = errorsOf(options);
		makeClient(options).connect();
		const source = FakeEventSource.latest;
		for (const n of [1, 2, 3, 4, 5]) source.emitJSON('chat', { n }, `e-${n}`);
		await fiveDelivered;
		expect(received).toEqual([1, 4, 5]);
		expect(errors.map((error) => [error.code, error.topic])).toEqual([
			['schema', 'chat'],
			['schema', 'chat'],
		]);
	});
	it('a schema whose validate throws synchronously is an error; the next event arrives', () => {
		const chat = recorder<{ n: number }>();
		const strict: StandardSchemaLike<{ n: number }> = {
			'~standard': {
				validate(value) {
					if ((value as { n: number }).n === 1) throw new Error('validator crashed');
					return { value: value as { n: number } };
				},
			},
		};
		const options: SSEClientOptions<Topics> = {
			topics: { chat: chat.handler },
			schemas: { chat: strict },
		};
		const errors = errorsOf(options);
		const client = makeClient(options);
		client.connect();
		const source = FakeEventSource.latest;
		expect(() => source.emitJSON('chat', { n: 1 }, 'e-1')).not.toThrow();
		source.emitJSON('chat', { n: 2 }, 'e-2');
		expect(errors.map((error) => [error.code, error.topic])).toEqual([['schema', 'chat']]);
		expect(errors[0]?.cause).toEqual(new Error('validator crashed'));
		expect(client.error).toBe(errors[0]);
		expect(chat.calls.map((call) => call.data.n)).toEqual([2]);
	});
});

describe('control events', () => {
	it('sse:gap calls onGap with { reason, topics }', () => {
		const gaps: unknown[] = [];
		const options: SSEClientOptions<Topics> = {
			topics: { chat: () => {} },
			onGap: (gap) => gaps.push(gap),
		};
		const errors = errorsOf(options);
		makeClient(options).connect();
		const source = FakeEventSource.latest;
		source.emitJSON('sse:gap', { reason: 'expired', topics: ['chat'] });
		expect(gaps).toEqual([{ reason: 'expired', topics: ['chat'] }]);
		source.emit('sse:gap', 'nope');
		expect(gaps).toHaveLength(1);
		expect(errors.map((error) => error.code)).toEqual(['parse']);
	});

	it('replaying is true from connecting until sse:ready, and again on a reconnect', () => {
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		expect(client.replaying).toBe(false);
		client.connect();
		expect(client.replaying).toBe(true);
		const source = FakeEventSource.latest;
		source.open();
		source.emitJSON('chat', { n: 1 }, 'e-1');
		expect(client.replaying).toBe(true);
		source.emitJSON('sse:ready', { replayed: 1 });
		expect(client.replaying).toBe(false);

		source.error({ close: true });
		vi.runOnlyPendingTimers();
		expect(client.replaying).toBe(true);
		FakeEventSource.latest.emitJSON('sse:ready', { replayed: 0 });
		expect(client.replaying).toBe(false);
	});
});

describe('position', () => {
	it('takes the position sse:ready states, so a client that got no event yet resumes from it', () => {
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.open();
		FakeEventSource.latest.emitJSON('sse:ready', { replayed: 0, lastEventId: 'ep-7' });
		expect(client.lastEventID).toBe('ep-7');
		FakeEventSource.latest.error({ close: true });
		vi.runOnlyPendingTimers();
		expect(FakeEventSource.latest.param('lastEventId')).toBe('ep-7');
	});

	it('never moves back to an older stated position of the same epoch; a new epoch replaces it', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		const source = FakeEventSource.latest;
		source.emitJSON('chat', { n: 9 }, 'ep-9');
		source.emitJSON('sse:ready', { replayed: 1, lastEventId: 'ep-4' });
		expect(client.lastEventID).toBe('ep-9');
		source.emitJSON('sse:gap', { reason: 'epoch', topics: ['chat'] });
		source.emitJSON('sse:ready', { replayed: 0, lastEventId: 'next-2' });
		expect(client.lastEventID).toBe('next-2');
	});

	it('takes a stated position of seq 0 (a store with no event yet)', () => {
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.emitJSON('sse:ready', { replayed: 0, lastEventId: 'ep-0' }, 'ep-0');
		expect(client.lastEventID).toBe('ep-0');
		client.close();
		client.connect();
		expect(FakeEventSource.latest.param('lastEventId')).toBe('ep-0');
	});

	it('reopens by itself when its EventSource ignored the position the stream stated', () => {
		// The `eventsource` package drops a frame with an id and no data: its own reconnect would
		// go out with no position. (A browser keeps it: the ready event carries that id.)
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		const first = FakeEventSource.latest;
		first.open();
		first.emitJSON('sse:ready', { replayed: 0, lastEventId: 'ep-7' }); // lastEventId stays ''
		first.error(); // the EventSource would reconnect by itself
		expect(first.closed).toBe(true);
		expect(client.status).toBe('connecting');
		vi.runOnlyPendingTimers();
		expect(FakeEventSource.instances).toHaveLength(2);
		expect(FakeEventSource.latest.param('lastEventId')).toBe('ep-7');
	});

	it('leaves the reconnect to its EventSource when that one has the position', () => {
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		const source = FakeEventSource.latest;
		source.open();
		source.emitJSON('sse:ready', { replayed: 0, lastEventId: 'ep-7' }, 'ep-7');
		source.error();
		expect(source.closed).toBe(false);
		// An event with an id after an ignored statement gives the EventSource a position too.
		source.open();
		source.emitJSON('sse:ready', { replayed: 0, lastEventId: 'ep-9' }, 'ep-7');
		source.emitJSON('chat', { n: 10 }, 'ep-10');
		source.error();
		expect(source.closed).toBe(false);
		vi.runOnlyPendingTimers();
		expect(FakeEventSource.instances).toHaveLength(1);
	});

	it('names itself with a client id that stays the same across its reconnects', () => {
		vi.useFakeTimers();
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		const id = FakeEventSource.latest.param('client');
		expect(id).toMatch(/^[A-Za-z0-9_-]{16,64}$/);
		client.updateTopics({ addTopics: ['logs'] });
		expect(FakeEventSource.latest.param('client')).toBe(id);
		FakeEventSource.latest.error({ close: true });
		vi.runOnlyPendingTimers();
		expect(FakeEventSource.latest.param('client')).toBe(id);
		makeClient({ topics: { chat: () => {} } }).connect();
		expect(FakeEventSource.latest.param('client')).not.toBe(id);
	});
});

describe('EventSource init', () => {
	it('calls an eventSourceInit function at every connect, so a reconnect gets fresh headers', () => {
		vi.useFakeTimers();
		let token = 0;
		const client = makeClient({
			topics: { chat: () => {} },
			eventSourceInit: () => ({ headers: { Authorization: `Bearer t${++token}` } }),
			withCredentials: true,
		});
		client.connect();
		FakeEventSource.latest.error({ close: true });
		vi.runOnlyPendingTimers();
		client.updateTopics({ addTopics: ['logs'] });

		expect(FakeEventSource.instances.map((source) => source.init)).toEqual([
			{ headers: { Authorization: 'Bearer t1' }, withCredentials: true },
			{ headers: { Authorization: 'Bearer t2' }, withCredentials: true },
			{ headers: { Authorization: 'Bearer t3' }, withCredentials: true },
		]);
		expect(FakeEventSource.latest.withCredentials).toBe(true);
	});

	it('passes an eventSourceInit object as it is, with withCredentials false by default', () => {
		makeClient({ topics: { chat: () => {} }, eventSourceInit: { heartbeatTimeout: 5 } }).connect();
		expect(FakeEventSource.latest.init).toEqual({ heartbeatTimeout: 5, withCredentials: false });
		expect(FakeEventSource.latest.withCredentials).toBe(false);
	});
});

describe('no EventSource', () => {
	it('connect() sets status error with code unsupported, and does not throw', () => {
		expect(globalThis.EventSource).toBeUndefined(); // jsdom has none
		const errors: SSEClientError[] = [];
		const client = new SSEClient<Topics>('/api/events', {
			topics: { chat: () => {} },
			autoConnect: false,
			onError: (error) => errors.push(error),
		});
		clients.push(client);
		expect(() => client.connect()).not.toThrow();
		expect(client.status).toBe('error');
		expect(client.error?.code).toBe('unsupported');
		expect(errors.map((error) => error.code)).toEqual(['unsupported']);
	});

	it('autoConnect without an EventSource does not throw either', () => {
		let client: SSEClient<Topics> | undefined;
		expect(() => {
			client = new SSEClient<Topics>('/api/events', { topics: { chat: () => {} } });
		}).not.toThrow();
		if (client) clients.push(client);
		expect(client?.error?.code).toBe('unsupported');
	});
});

describe('autoConnect outside a component', () => {
	it('connects at once in a browser-like environment', () => {
		const client = new SSEClient<Topics>('/api/events', {
			EventSource: FakeEventSource,
			topics: { chat: () => {} },
		});
		clients.push(client);
		expect(FakeEventSource.instances).toHaveLength(1);
		expect(client.status).toBe('connecting');
	});

	it('autoConnect: false waits for connect()', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		expect(FakeEventSource.instances).toHaveLength(0);
		expect(client.status).toBe('idle');
		client.connect();
		expect(FakeEventSource.instances).toHaveLength(1);
	});
});
