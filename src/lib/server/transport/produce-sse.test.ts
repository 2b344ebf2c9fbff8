import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endings, open, RETRY, settle, sseClient } from '../../testing/sse-body.js';
import type { SSEConnection } from './connection.js';
import { type Cleanup, type Emit, produceSSE } from './produce-sse.js';

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

		// Whatever the case of the names, and however the headers are given.
		const given: HeadersInit[] = [
			{ 'content-type': 'text/plain', 'x-accel-buffering': 'yes', vary: 'Cookie' },
			new Headers({ 'Content-Type': 'text/plain', Vary: 'Cookie' }),
			[
				['content-type', 'text/plain'],
				['vary', 'Cookie'],
			],
		];
		for (const headers of given) {
			const other = open({ headers }).response.headers;
			expect(other.get('content-type')).toBe('text/event-stream; charset=utf-8');
			expect(other.get('x-accel-buffering')).toBe('no');
			expect(other.get('vary')).toBe('Cookie');
		}
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

// How the producer's cleanup is taken and run; the endings themselves are in connection.test.ts.
describe('cleanup', () => {
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
		// The body just ends: Kit's setResponse cancels the reader of a body whose client left
		// without catching (`void reader.cancel()`), so a rejection there would be unhandled.
		const reader = (response.body as ReadableStream<Uint8Array>).getReader();
		await expect(reader.read()).resolves.toEqual({ done: true, value: undefined });
		await expect(reader.cancel()).resolves.toBeUndefined();
	});

	it('ends the body without an error when the client leaves, so cancelling it never rejects', async () => {
		const request = new AbortController();
		const response = produceSSE(() => {}, { signal: request.signal });
		request.abort();
		await expect(
			(response.body as ReadableStream<Uint8Array>).getReader().cancel(),
		).resolves.toBeUndefined();
		const piped = produceSSE(() => {}, { signal: AbortSignal.abort() });
		await expect((piped.body as ReadableStream<Uint8Array>).cancel()).resolves.toBeUndefined();
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
			const emitters = new Set<Emit<{ n: number }>>();
			const clients = Array.from({ length: 40 }, (_, index) => {
				const request = new AbortController();
				const cleanup = vi.fn<Cleanup>();
				let connection!: SSEConnection;
				const response = produceSSE<{ n: number }>(
					(emit, c) => {
						connection = c;
						emitters.add(emit);
						return (reason) => {
							emitters.delete(emit);
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
				for (const emit of emitters) expect(emit({ event: 'n', data: n })).toBe(true);
				if (n % 10 === 9) await vi.advanceTimersByTimeAsync(100);
				if (n % 25 === 24) {
					const leaving = clients[(n - 24) / 25];
					if (leaving && !stays(leaving.index)) leave[leaving.index % 3]?.(leaving);
				}
			}
			expect(emitters.size).toBe(10);
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
			expect(emitters.size).toBe(0);

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
