// SSEClient against a scripted EventSource, in the cases only a fake can drive: exact timers
// (backoff, jitter, cancelled retries), an EventSource that ignores a stated position, what the
// client passes to the constructor, no EventSource at all, bad data and schemas, and random
// sequences. What it shares with the real `eventsource` package over HTTP is the client suite
// (src/lib/testing/client-suite/), run on this fake in client-suite.fake.test.ts.
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

describe('updateTopics', () => {
	it('closes the old EventSource once and makes exactly one new one', () => {
		const client = makeClient({ topics: { chat: () => {}, logs: () => {} } });
		client.connect();
		const old = FakeEventSource.latest;
		old.open();
		client.updateTopics({ addTopics: ['alerts'] });
		expect(FakeEventSource.instances).toHaveLength(2);
		expect(old.closed).toBe(true);
		expect(old.closeCalls).toBe(1);
	});
});

describe('against a plain SSE server', () => {
	it('with replay: false, replaying is false once the stream is open', () => {
		const client = makeClient({ topics: { chat: () => {} }, replay: false });
		client.connect();
		expect(client.replaying).toBe(true); // connecting: nothing to show yet
		FakeEventSource.latest.open();
		expect(client.replaying).toBe(false);
	});

	it("without it, the first event whose id is not a hub's ends replaying", () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.open();
		expect(client.replaying).toBe(true); // a hub's replay may be coming
		FakeEventSource.latest.emitJSON('chat', { n: 1 }, '42');
		expect(client.replaying).toBe(false);
	});

	it('listens to unnamed events as the topic "message"', () => {
		const got = recorder<string>();
		const client = new SSEClient<{ message: string }>('/plain', {
			EventSource: FakeEventSource,
			autoConnect: false,
			replay: false,
			topics: { message: got.handler },
		});
		clients.push(client as unknown as SSEClient<Topics>);
		client.connect();
		FakeEventSource.latest.open();
		FakeEventSource.latest.emit('message', '"hello"'); // a frame with no `event:` line
		expect(got.calls.map((call) => call.data)).toEqual(['hello']);
		expect(client.topicCounters.message).toBe(1);
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

	it('stops on 400 (unknown or too many topics: retrying cannot fix it), with code bad_request', () => {
		const errors: string[] = [];
		const client = makeClient({ topics: { chat: () => {} }, onError: (e) => errors.push(e.code) });
		client.connect();
		FakeEventSource.latest.error({ close: true, status: 400 });
		expect(client.status).toBe('error');
		expect(client.error).toMatchObject({ code: 'bad_request', status: 400 });
		expect(client.replaying).toBe(false);
		expect(errors).toEqual(['bad_request']);
		vi.advanceTimersByTime(10 * 60_000);
		expect(FakeEventSource.instances).toHaveLength(1);
		client.connect(); // fixed: connect() tries again
		expect(FakeEventSource.instances).toHaveLength(2);
	});

	it('waits at least the Retry-After of a 503, which it asks the server for with a HEAD', async () => {
		const probes: Array<{ url: string; method?: string }> = [];
		vi.stubGlobal('fetch', async (url: string, init?: RequestInit) => {
			probes.push({ url, method: init?.method });
			return new Response(null, { status: 503, headers: { 'Retry-After': '20' } });
		});
		try {
			const client = makeClient({ topics: { chat: () => {} }, reconnectWait: 1000 });
			client.connect();
			const url = FakeEventSource.latest.url;
			FakeEventSource.latest.error({ close: true, status: 503 });
			await vi.advanceTimersByTimeAsync(0); // the HEAD's answer, no time passing
			expect(client.error?.code).toBe('connection');
			expect(probes).toEqual([{ url, method: 'HEAD' }]);
			vi.advanceTimersByTime(19_999);
			expect(FakeEventSource.instances, 'no retry before 20 s').toHaveLength(1);
			vi.advanceTimersByTime(1);
			expect(FakeEventSource.instances).toHaveLength(2);
		} finally {
			vi.unstubAllGlobals();
		}
	});

	it("with a browser's own EventSource (no status), asks the server why: a 400 stops it", async () => {
		vi.stubGlobal('EventSource', FakeEventSource);
		vi.stubGlobal('fetch', async () => new Response(null, { status: 400 }));
		try {
			const client = new SSEClient<Topics>('/api/events', {
				autoConnect: false,
				topics: { chat: () => {} },
			});
			clients.push(client);
			client.connect();
			FakeEventSource.latest.error({ close: true });
			await vi.advanceTimersByTimeAsync(0); // the HEAD's answer
			expect(client.error?.code).toBe('bad_request');
			vi.advanceTimersByTime(10 * 60_000);
			expect(FakeEventSource.instances).toHaveLength(1);
		} finally {
			vi.unstubAllGlobals();
		}
	});

	it('reopens with a fresh eventSourceInit() instead of letting the EventSource reconnect with stale credentials', () => {
		let token = 0;
		const client = makeClient({
			topics: { chat: () => {} },
			reconnectWait: 1000,
			eventSourceInit: () => ({ headers: { Authorization: `Bearer ${++token}` } }),
		});
		client.connect();
		const first = FakeEventSource.latest;
		expect(first.init?.headers).toEqual({ Authorization: 'Bearer 1' });
		first.open();
		first.emitJSON('chat', { n: 1 }, 'e-1');
		first.error(); // the server ended the stream: the EventSource would reconnect by itself
		expect(first.closed).toBe(true);
		vi.advanceTimersByTime(1000);
		const next = FakeEventSource.latest;
		expect(next).not.toBe(first);
		expect(next.init?.headers).toEqual({ Authorization: 'Bearer 2' });
		expect(next.param('lastEventId')).toBe('e-1');
	});

	it.each([500])('keeps retrying with backoff on %i, never in a tight loop', (status) => {
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

	it('closes the EventSource and nothing reconnects, even ten minutes later', () => {
		const client = makeClient({ topics: { chat: () => {} } });
		client.connect();
		FakeEventSource.latest.open();
		client.close();
		expect(FakeEventSource.latest.closed).toBe(true);
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

describe('position', () => {
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
});

describe('lastEventID (start from a snapshot)', () => {
	it('starts there: lastEventID shows it, the stream asks from it, the topics say they need no history', () => {
		const chat = recorder<Topics['chat']>();
		const client = makeClient({
			topics: { chat: chat.handler, logs: () => {} },
			lastEventID: 'ep-5',
		});
		expect(client.lastEventID).toBe('ep-5');
		client.connect();
		const source = FakeEventSource.latest;
		expect(source.param('lastEventId')).toBe('ep-5');
		expect(new URL(source.url, 'http://localhost').searchParams.getAll('had')).toEqual([
			'chat',
			'logs',
		]);
		source.open();
		// A replay that repeats what the snapshot held: dropped; what came after: delivered once.
		source.emitJSON('chat', { n: 4 }, 'ep-4');
		source.emitJSON('chat', { n: 5 }, 'ep-5');
		source.emitJSON('chat', { n: 6 }, 'ep-6');
		expect(chat.calls.map((call) => call.data.n)).toEqual([6]);
		expect(client.lastEventID).toBe('ep-6');
	});

	it('a topic added later is not taken as held up to the start: it gets its history', () => {
		const alerts = recorder<Topics['alerts']>();
		const client = makeClient({ topics: ['chat'], lastEventID: 'ep-5' });
		client.on('alerts', alerts.handler);
		client.connect();
		client.updateTopics({ addTopics: ['alerts'] });
		const source = FakeEventSource.latest;
		expect(new URL(source.url, 'http://localhost').searchParams.getAll('had')).toEqual(['chat']);
		source.open();
		source.emitJSON('alerts', { level: 2 }, 'ep-2');
		expect(alerts.calls.map((call) => call.data.level)).toEqual([2]);
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
