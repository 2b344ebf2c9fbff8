import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CloseReason, SSEConnection } from './connection.js';
import {
	type Cleanup,
	type Emit,
	type ProduceSSEOptions,
	produceSSE,
	type TopicMap,
} from './produce-sse.js';

const RETRY = 'retry: 3000\n\n';
const KiB = 1024;

/** Reads a Response body as a browser would: bytes → UTF-8 → WHATWG SSE parser. */
function sseClient(response: Response) {
	if (!response.body) throw new Error('the response has no body');
	const reader = response.body.getReader();
	const decoder = new TextDecoder();
	const events: EventSourceMessage[] = [];
	const comments: string[] = [];
	const retries: number[] = [];
	const parseErrors: Error[] = [];
	const bytes: Uint8Array[] = [];
	let text = '';
	const parser = createParser({
		onEvent: (event) => events.push(event),
		onComment: (comment) => comments.push(comment),
		onRetry: (retry) => retries.push(retry),
		onError: (error) => parseErrors.push(error),
	});

	/** Reads one chunk; `false` once the stream has ended. Rejects if the stream was errored. */
	async function pump(): Promise<boolean> {
		const { done, value } = await reader.read();
		if (done) return false;
		bytes.push(value);
		const chunk = decoder.decode(value, { stream: true });
		text += chunk;
		parser.feed(chunk);
		return true;
	}

	async function until(enough: () => boolean, what: string): Promise<void> {
		while (!enough()) {
			if (!(await pump())) throw new Error(`the stream ended before ${what}; got ${text}`);
		}
	}

	return {
		events,
		comments,
		retries,
		parseErrors,
		bytes,
		get text() {
			return text;
		},
		pump,
		/** The first `n` events, reading as much as needed. */
		async read(n: number): Promise<EventSourceMessage[]> {
			await until(() => events.length >= n, `${n} events`);
			return events.slice(0, n);
		},
		async readComments(n: number): Promise<string[]> {
			await until(() => comments.length >= n, `${n} comments`);
			return comments.slice(0, n);
		},
		/** Reads until the stream ends; rejects if it was errored. */
		async readToEnd(): Promise<void> {
			while (await pump());
		},
		/** Reads until the stream ends or errors, and says which. */
		async drain(): Promise<'ended' | 'errored'> {
			try {
				while (await pump());
				return 'ended';
			} catch {
				return 'errored';
			}
		},
		cancel: () => reader.cancel(),
	};
}

/** A produceSSE response whose producer hands out its emit and connection. */
function open<Topics extends TopicMap = TopicMap>(options: ProduceSSEOptions = {}) {
	let emit!: Emit<Topics>;
	let connection!: SSEConnection;
	const cleanup = vi.fn<Cleanup>();
	const response = produceSSE<Topics>((e, c) => {
		emit = e;
		connection = c;
		return cleanup;
	}, options);
	return { response, emit, connection, cleanup, client: sseClient(response) };
}

/** Writes 1 KiB chunks that nobody reads until `bytes` are queued. */
function fill(connection: SSEConnection, bytes: number): void {
	for (let i = 0; connection.bufferedBytes < bytes; i++) {
		if (i > bytes / KiB) throw new Error(`bufferedBytes stuck at ${connection.bufferedBytes}`);
		connection.write(new Uint8Array(KiB));
	}
}

/** Lets every pending promise callback run (real timers only). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(() => {
	vi.useRealTimers();
	vi.restoreAllMocks();
});

describe('the response', () => {
	it('carries the headers of the protocol and no Connection header', () => {
		const { response } = open();
		expect(response.status).toBe(200);
		expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
		expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
		expect(response.headers.get('x-accel-buffering')).toBe('no');
		expect(response.headers.has('connection')).toBe(false);
	});

	it('keeps extra headers but not ones that would change the protocol', () => {
		const { response } = open({
			headers: {
				'Set-Cookie': 'sid=1; HttpOnly',
				'Access-Control-Allow-Origin': 'https://app.example',
				'Content-Type': 'text/plain',
				'Cache-Control': 'max-age=60',
			},
		});
		expect(response.headers.get('set-cookie')).toBe('sid=1; HttpOnly');
		expect(response.headers.get('access-control-allow-origin')).toBe('https://app.example');
		expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
		expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
	});

	it('opens with the retry hint, before anything else', async () => {
		const { emit, client } = open();
		emit({ event: 'tick', data: 1 });
		await client.read(1);
		expect(client.text.startsWith(RETRY)).toBe(true);
		expect(client.retries).toEqual([3000]);

		const custom = open({ retryMs: 1500 });
		await custom.client.pump();
		expect(custom.client.text).toBe('retry: 1500\n\n');
	});

	it('writes events byte for byte as the wire format says', async () => {
		const { emit, connection, client } = open<{ chat: { text: string }; tick: number }>();
		expect(emit({ event: 'chat', data: { text: 'a\nb' }, id: 'e-1' })).toBe(true);
		expect(emit({ event: 'tick', data: 2 })).toBe(true);
		connection.close();
		await client.readToEnd();
		expect(client.text).toBe(
			`${RETRY}id: e-1\nevent: chat\ndata: {"text":"a\\nb"}\n\nevent: tick\ndata: 2\n\n`,
		);
	});

	it('is read back exactly by a WHATWG parser: newlines, unicode, ids', async () => {
		const sent = [
			{ event: 'chat', data: { text: 'line 1\nline 2\r\nline 3\rend' }, id: 'e-1' },
			{
				event: 'chat',
				data: { text: '🎉 ünïcødé 漢字 \u{1F468}\u200D\u{1F469}\u200D\u{1F467}' },
				id: 'e-2',
			},
			{ event: 'chat', data: { text: 'separators \u2028 and \u2029, NEL \u0085' }, id: 'e-3' },
			{ event: 'a.b:c-d_1', data: ['data: forged', 'event: forged', '\n\n'] },
			{ event: 'tick', data: 0, id: 'epoch_1-9007199254740991' },
			{ event: 'nothing', data: null },
			{ event: 'quote', data: '"\\' },
		];
		const { emit, client } = open();
		for (const message of sent) expect(emit(message)).toBe(true);

		const received = await client.read(sent.length);
		expect(client.parseErrors).toEqual([]);
		expect(
			received.map((event) => ({ event: event.event, id: event.id, data: JSON.parse(event.data) })),
		).toEqual(sent.map(({ event, data, id }) => ({ event, id, data })));
		// One event is one data line, whatever its data holds.
		expect(client.text.match(/^data:/gm)).toHaveLength(sent.length);
	});

	it('parses the same when the bytes arrive one at a time', async () => {
		const { emit, connection, client } = open();
		emit({ event: 'chat', data: { text: '🎉\u2028é\nx' }, id: 'e-1' });
		emit({ event: 'chat', data: '漢字', id: 'e-2' });
		connection.close();
		await client.readToEnd();

		const events: EventSourceMessage[] = [];
		const parser = createParser({ onEvent: (event) => events.push(event) });
		const decoder = new TextDecoder();
		for (const chunk of client.bytes) {
			for (const byte of chunk) parser.feed(decoder.decode(Uint8Array.of(byte), { stream: true }));
		}
		expect(events).toEqual(client.events);
		expect(events.map((event) => JSON.parse(event.data))).toEqual([
			{ text: '🎉\u2028é\nx' },
			'漢字',
		]);
	});
});

describe('keep-alive', () => {
	it('sends a `: keep-alive` comment every 15 s by default', async () => {
		vi.useFakeTimers();
		const { client, connection } = open();
		await client.pump();
		expect(client.text).toBe(RETRY);

		vi.advanceTimersByTime(14_999);
		expect(connection.bufferedBytes).toBe(0);
		vi.advanceTimersByTime(1);
		expect(await client.readComments(1)).toEqual(['keep-alive']);
		expect(client.text).toBe(`${RETRY}: keep-alive\n\n`);
		expect(client.events).toEqual([]);
	});

	it('refuses an interval Node cannot keep (it would fire every millisecond instead)', () => {
		for (const keepAliveMs of [Number.POSITIVE_INFINITY, 2 ** 31, -1, Number.NaN]) {
			expect(() => produceSSE(() => {}, { keepAliveMs })).toThrow(RangeError);
		}
	});

	it('follows keepAliveMs', async () => {
		vi.useFakeTimers();
		const { client } = open({ keepAliveMs: 1000 });
		vi.advanceTimersByTime(3000);
		expect(await client.readComments(3)).toEqual(['keep-alive', 'keep-alive', 'keep-alive']);
	});

	it('is off with keepAliveMs: 0', async () => {
		vi.useFakeTimers();
		const before = vi.getTimerCount();
		const { client, connection } = open({ keepAliveMs: 0 });
		expect(vi.getTimerCount()).toBe(before);
		await client.pump();
		vi.advanceTimersByTime(24 * 60 * 60 * 1000);
		expect(connection.bufferedBytes).toBe(0);
		expect(client.text).toBe(RETRY);
	});
});

type Ending = {
	name: string;
	reason: CloseReason;
	end: (opened: ReturnType<typeof open>, request: AbortController) => unknown;
};

const endings: Ending[] = [
	{ name: 'the client cancels the body', reason: 'client', end: ({ client }) => client.cancel() },
	{ name: 'the request signal aborts', reason: 'client', end: (_, request) => request.abort() },
	{ name: 'the producer closes', reason: 'server', end: ({ connection }) => connection.close() },
	{ name: 'the server aborts', reason: 'error', end: ({ connection }) => connection.abort() },
	{
		name: 'the client is too slow',
		reason: 'slow-consumer',
		end: ({ connection }) => connection.abort('slow-consumer'),
	},
];

describe('cleanup', () => {
	it.each(endings)('runs once, with its reason, when $name', async ({ reason, end }) => {
		vi.useFakeTimers();
		const timers = vi.getTimerCount();
		const request = new AbortController();
		const opened = open({ signal: request.signal });
		expect(vi.getTimerCount()).toBe(timers + 1);

		await end(opened, request);
		expect(opened.cleanup).toHaveBeenCalledExactlyOnceWith(reason);
		expect(opened.connection.closed).toBe(true);
		expect(opened.connection.signal.aborted).toBe(true);
		expect(opened.connection.signal.reason).toBe(reason);
		expect(vi.getTimerCount()).toBe(timers);

		// Every ending again, each more than once: still one cleanup. (Cancelling a body that
		// was errored rejects, as the Streams spec says; that is the reader's business.)
		for (const again of [...endings, ...endings]) {
			await Promise.resolve()
				.then(() => again.end(opened, request))
				.catch(() => {});
		}
		expect(opened.cleanup).toHaveBeenCalledOnce();
		expect(vi.getTimerCount()).toBe(timers);
	});

	it('lets a graceful close deliver what was queued, then ends the body', async () => {
		const { emit, connection, client } = open();
		emit({ event: 'a', data: 1 });
		emit({ event: 'b', data: 2 });
		connection.close();
		connection.abort(); // too late: the stream has already ended, gracefully
		await expect(client.readToEnd()).resolves.toBeUndefined();
		expect(client.events.map((event) => event.event)).toEqual(['a', 'b']);
	});

	it('drops what was queued when the server aborts', async () => {
		const { emit, connection, client } = open();
		emit({ event: 'a', data: 1 });
		connection.abort();
		await expect(client.pump()).rejects.toThrow('SSE stream ended: error');
		expect(client.events).toEqual([]);
	});

	it('runs at once, reason client, when the request was already aborted', async () => {
		vi.useFakeTimers();
		const timers = vi.getTimerCount();
		const cleanup = vi.fn<Cleanup>();
		let emitted: boolean | undefined;
		const response = produceSSE(
			(emit) => {
				emitted = emit({ event: 'a', data: 1 });
				return cleanup;
			},
			{ signal: AbortSignal.abort() },
		);
		expect(emitted).toBe(false);
		expect(cleanup).toHaveBeenCalledExactlyOnceWith('client');
		expect(vi.getTimerCount()).toBe(timers);
		await expect(sseClient(response).pump()).rejects.toThrow();
	});

	it('takes the cleanup an async producer resolves to', async () => {
		const cleanup = vi.fn<Cleanup>();
		let connection!: SSEConnection;
		const response = produceSSE(async (emit, c) => {
			connection = c;
			await Promise.resolve();
			emit({ event: 'ready', data: true });
			return cleanup;
		});
		const client = sseClient(response);
		await client.read(1);
		expect(cleanup).not.toHaveBeenCalled();
		await client.cancel();
		await client.cancel();
		connection.close();
		expect(cleanup).toHaveBeenCalledExactlyOnceWith('client');
	});

	it('runs a cleanup that arrives after the stream ended at once, with the real reason', async () => {
		const cleanup = vi.fn<Cleanup>();
		let finish!: (cleanup: Cleanup) => void;
		const response = produceSSE(() => new Promise<Cleanup>((resolve) => (finish = resolve)));
		const client = sseClient(response);
		await client.cancel();

		finish(cleanup);
		await settle();
		expect(cleanup).toHaveBeenCalledExactlyOnceWith('client');
	});

	it('contains a late cleanup that throws (no unhandled rejection)', async () => {
		const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
		const rejections: unknown[] = [];
		const onRejection = (reason: unknown) => rejections.push(reason);
		process.on('unhandledRejection', onRejection);
		try {
			let finish!: (cleanup: Cleanup) => void;
			const response = produceSSE(() => new Promise<Cleanup>((resolve) => (finish = resolve)));
			await sseClient(response).cancel();
			finish(() => {
				throw new Error('cleanup failed');
			});
			await settle();
			await settle();
			expect(rejections).toEqual([]);
			expect(logged).toHaveBeenCalledOnce();
		} finally {
			process.off('unhandledRejection', onRejection);
		}
	});

	it('ends the stream with reason error when an async producer rejects', async () => {
		const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
		const closed = vi.fn<Cleanup>();
		const response = produceSSE(async (_emit, connection) => {
			connection.onClose(closed);
			await Promise.resolve();
			throw new Error('no database');
		});
		await expect(sseClient(response).pump()).resolves.toBe(true); // the retry line
		await settle();
		expect(closed).toHaveBeenCalledExactlyOnceWith('error');
		expect(logged).toHaveBeenCalledWith(
			'[svelte-sse-kit] the SSE producer failed:',
			expect.objectContaining({ message: 'no database' }),
		);
	});

	it('leaves no timer behind when a producer throws', () => {
		vi.useFakeTimers();
		const timers = vi.getTimerCount();
		const closed = vi.fn<Cleanup>();
		expect(() =>
			produceSSE((_emit, connection) => {
				connection.onClose(closed);
				throw new Error('bad request');
			}),
		).toThrow('bad request');
		expect(vi.getTimerCount()).toBe(timers);
		expect(closed).toHaveBeenCalledExactlyOnceWith('error');
	});

	it('runs every cleanup even if one throws, and the reader does not see the error', async () => {
		const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
		const { connection, client, cleanup } = open();
		const after = vi.fn<Cleanup>();
		connection.onClose(() => {
			throw new Error('cleanup failed');
		});
		connection.onClose(after);
		await expect(client.cancel()).resolves.toBeUndefined();
		expect(cleanup).toHaveBeenCalledOnce();
		expect(after).toHaveBeenCalledOnce();
		expect(logged).toHaveBeenCalledOnce();
	});
});

describe('emit after close', () => {
	it.each(endings)('returns false and writes nothing when $name', async ({ end }) => {
		const request = new AbortController();
		const opened = open({ signal: request.signal });
		const { emit, connection, client } = opened;
		emit({ event: 'before', data: 1 });
		await end(opened, request);

		// Even what would be refused on an open stream is just `false` now.
		expect(emit({ event: 'after', data: 2 })).toBe(false);
		expect(emit({ event: 'bad\nname', data: undefined })).toBe(false);
		expect(connection.write('event: raw\ndata: 3\n\n')).toBe(false);
		expect(connection.bufferedBytes).toBe(0);

		await client.drain();
		expect(client.events.map((event) => event.event)).not.toContain('after');
		expect(client.text).not.toMatch(/after|raw/);
	});
});

describe('injection', () => {
	const refused: Array<[string, { event: string; data: unknown; id?: string }]> = [
		['an event name with LF', { event: 'chat\ndata: {"admin":true}', data: 1 }],
		['an event name with CR', { event: 'chat\rdata: 1', data: 1 }],
		['an event name with NUL', { event: 'chat\0', data: 1 }],
		['the reserved sse:ready', { event: 'sse:ready', data: { replayed: 0 } }],
		['the reserved sse:gap', { event: 'sse:gap', data: {} }],
		['an id with LF', { event: 'chat', data: 1, id: 'e-1\nevent: forged' }],
		['an id with CR', { event: 'chat', data: 1, id: 'e-1\r' }],
		['an id with NUL', { event: 'chat', data: 1, id: 'e-\0' }],
		['undefined data', { event: 'chat', data: undefined }],
		['a function as data', { event: 'chat', data: () => 1 }],
		['a BigInt as data', { event: 'chat', data: 10n }],
		['a cyclic object as data', { event: 'chat', data: cyclic() }],
	];

	it.each(refused)('refuses %s with a TypeError before writing a byte', async (_, message) => {
		const { emit, connection, client } = open();
		expect(() => emit(message)).toThrow(TypeError);
		expect(connection.closed).toBe(false);
		connection.close();
		await client.readToEnd();
		expect(client.text).toBe(RETRY);
	});

	it('keeps the stream usable after a refusal', async () => {
		const { emit, connection, client } = open();
		for (const [, message] of refused) expect(() => emit(message)).toThrow(TypeError);
		expect(emit({ event: 'chat', data: 'ok', id: 'e-1' })).toBe(true);
		connection.close();
		await client.readToEnd();
		expect(client.text).toBe(`${RETRY}id: e-1\nevent: chat\ndata: "ok"\n\n`);
	});
});

function cyclic(): unknown {
	const value: { self?: unknown } = {};
	value.self = value;
	return value;
}

describe('many clients', () => {
	it('survives clients leaving in every way while 1,000 events and keep-alives go out', async () => {
		const failures: unknown[] = [];
		const onFailure = (error: unknown) => failures.push(error);
		process.on('unhandledRejection', onFailure);
		process.on('uncaughtException', onFailure);
		try {
			vi.useFakeTimers();
			const timers = vi.getTimerCount();
			const subscribers = new Set<Emit<{ n: number }>>();
			const clients = Array.from({ length: 40 }, (_, index) => {
				const request = new AbortController();
				const cleanup = vi.fn<Cleanup>();
				let connection!: SSEConnection;
				const response = produceSSE<{ n: number }>(
					(emit, c) => {
						connection = c;
						subscribers.add(emit);
						return (reason) => {
							subscribers.delete(emit);
							cleanup(reason);
						};
					},
					{ signal: request.signal, keepAliveMs: 100 },
				);
				// Every eighth client never reads its body at all.
				const client = index % 8 === 7 ? undefined : sseClient(response);
				return { index, request, cleanup, connection, client, done: client?.drain() };
			});
			const leave = [
				(c: (typeof clients)[number]) => c.request.abort(),
				(c: (typeof clients)[number]) => (c.client ? c.client.cancel() : c.request.abort()),
				(c: (typeof clients)[number]) => c.connection.abort(),
			];
			const stays = (index: number) => index % 4 === 0;

			for (let n = 0; n < 1000; n++) {
				for (const emit of subscribers) expect(emit({ event: 'n', data: n })).toBe(true);
				if (n % 10 === 9) await vi.advanceTimersByTimeAsync(100);
				if (n % 25 === 24) {
					const leaving = clients[(n - 24) / 25];
					if (leaving && !stays(leaving.index)) leave[leaving.index % 3]?.(leaving);
				}
			}
			expect(subscribers.size).toBe(10);
			for (const { connection } of clients) connection.close();
			const outcomes = await Promise.all(clients.map((c) => c.done));
			expect(vi.getTimerCount()).toBe(timers);

			for (const c of clients) {
				expect(c.cleanup).toHaveBeenCalledOnce();
				if (!stays(c.index) || !c.client) continue;
				expect(outcomes[c.index]).toBe('ended');
				expect(c.client.parseErrors).toEqual([]);
				expect(c.client.events.map((event) => JSON.parse(event.data))).toEqual(
					Array.from({ length: 1000 }, (_, n) => n),
				);
				expect(c.client.comments).toHaveLength(100);
			}
			expect(subscribers.size).toBe(0);

			vi.useRealTimers();
			await settle();
			await settle();
			expect(failures).toEqual([]);
		} finally {
			process.off('unhandledRejection', onFailure);
			process.off('uncaughtException', onFailure);
		}
	});
});

describe('slow consumer', () => {
	const limit = 128 * KiB;
	const kilobyte = { event: 'big', data: 'x'.repeat(KiB) };
	const frameBytes = new TextEncoder().encode(`event: big\ndata: "${kilobyte.data}"\n\n`).length;

	it('drops a client that never reads, once, before its buffer passes the limit by a frame', async () => {
		const onSlowConsumer = vi.fn();
		const { emit, connection, cleanup, client } = open({
			maxBufferedBytes: limit,
			onSlowConsumer,
		});
		let written = 0;
		let highest = 0;
		while (written < 10_000 && emit(kilobyte)) {
			written++;
			highest = Math.max(highest, connection.bufferedBytes);
		}
		expect(written).toBeGreaterThan(limit / frameBytes - 2);
		expect(written).toBeLessThan(limit / frameBytes + 1);
		expect(highest).toBeLessThanOrEqual(limit);

		expect(onSlowConsumer).toHaveBeenCalledOnce();
		const [{ bufferedBytes, limit: reported }] = onSlowConsumer.mock.calls[0] as [
			{ bufferedBytes: number; limit: number },
		];
		expect(reported).toBe(limit);
		expect(bufferedBytes).toBeGreaterThan(limit);
		expect(bufferedBytes).toBeLessThanOrEqual(limit + frameBytes);

		expect(cleanup).toHaveBeenCalledExactlyOnceWith('slow-consumer');
		expect(connection.closed).toBe(true);
		expect(connection.bufferedBytes).toBe(0);
		expect(emit(kilobyte)).toBe(false);
		expect(connection.write('x'.repeat(limit))).toBe(false);
		expect(onSlowConsumer).toHaveBeenCalledOnce();
		await expect(client.pump()).rejects.toThrow('SSE stream ended: slow-consumer');
	});

	it('counts keep-alives toward the limit', () => {
		vi.useFakeTimers();
		const onSlowConsumer = vi.fn();
		const { connection, cleanup } = open({
			maxBufferedBytes: 100,
			keepAliveMs: 10,
			onSlowConsumer,
		});
		vi.advanceTimersByTime(10 * 100);
		expect(onSlowConsumer).toHaveBeenCalledOnce();
		expect(cleanup).toHaveBeenCalledExactlyOnceWith('slow-consumer');
		expect(connection.closed).toBe(true);
		expect(vi.getTimerCount()).toBe(0);
	});

	it('still drops the client when onSlowConsumer throws, and write does not throw', () => {
		const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
		const { emit, connection, cleanup } = open({
			maxBufferedBytes: 4 * KiB,
			onSlowConsumer: () => {
				throw new Error('metrics down');
			},
		});
		const results: boolean[] = [];
		for (let i = 0; i < 10; i++) results.push(emit(kilobyte));
		expect(results).toEqual([true, true, true, false, false, false, false, false, false, false]);
		expect(connection.closed).toBe(true);
		expect(cleanup).toHaveBeenCalledExactlyOnceWith('slow-consumer');
		expect(logged).toHaveBeenCalledOnce();
	});

	it('never drops a client that keeps reading the same volume', async () => {
		const onSlowConsumer = vi.fn();
		const { emit, connection, cleanup, client } = open({
			maxBufferedBytes: limit,
			onSlowConsumer,
		});
		const total = 1024; // 1 MiB: eight times the limit.
		const reading = client.read(total);
		for (let n = 0; n < total; n++) {
			expect(emit({ event: 'big', data: `${n}`.padEnd(KiB, '.') })).toBe(true);
			// A live producer writes over time; the client reads whatever is queued in between.
			if (n % 16 === 15) await settle();
		}
		const events = await reading;
		expect(events.map((event) => Number.parseInt(JSON.parse(event.data), 10))).toEqual(
			Array.from({ length: total }, (_, n) => n),
		);
		expect(onSlowConsumer).not.toHaveBeenCalled();
		expect(cleanup).not.toHaveBeenCalled();
		expect(connection.closed).toBe(false);
	});

	it('lets a writer that awaits ready() go at the pace of the reader', async () => {
		const onSlowConsumer = vi.fn();
		const { emit, connection, client } = open({ maxBufferedBytes: limit, onSlowConsumer });
		const total = 1024;
		let highest = 0;
		const reading = client.read(total);
		for (let n = 0; n < total; n++) {
			await connection.ready();
			expect(emit({ event: 'big', data: `${n}`.padEnd(KiB, '.') })).toBe(true);
			highest = Math.max(highest, connection.bufferedBytes);
		}
		expect(await reading).toHaveLength(total);
		expect(onSlowConsumer).not.toHaveBeenCalled();
		// Paced writes stay under the stream's high-water mark (64 KiB) plus one frame.
		expect(highest).toBeLessThanOrEqual(64 * KiB + frameBytes);
	});
});

describe('ready()', () => {
	it('resolves at once while the client has room', async () => {
		const { connection } = open();
		let resolved = false;
		void connection.ready().then(() => (resolved = true));
		await Promise.resolve();
		expect(resolved).toBe(true);
	});

	it('resolves only once the reader has taken data', async () => {
		const { connection, client } = open();
		fill(connection, 70 * KiB);
		let resolved = false;
		void connection.ready().then(() => (resolved = true));
		await settle();
		expect(resolved).toBe(false);

		const queued = connection.bufferedBytes;
		let chunksRead = 0;
		while (!resolved) {
			await client.pump();
			chunksRead++;
			await settle();
		}
		// It waited for the reader, and did not wait for it to take everything.
		expect(chunksRead).toBeGreaterThan(1);
		expect(connection.bufferedBytes).toBeLessThan(queued);
		expect(connection.bufferedBytes).toBeGreaterThan(0);
	});

	it('resolves when the connection ends, and at once after it has', async () => {
		const { connection, client } = open();
		fill(connection, 70 * KiB);
		const waiting = connection.ready();
		await client.cancel();
		await expect(waiting).resolves.toBeUndefined();

		let resolved = false;
		void connection.ready().then(() => (resolved = true));
		await Promise.resolve();
		expect(resolved).toBe(true);
	});

	it('resolves a waiting writer when the producer closes', async () => {
		const { connection } = open();
		fill(connection, 70 * KiB);
		const waiting = connection.ready();
		connection.close();
		await expect(waiting).resolves.toBeUndefined();
	});
});
