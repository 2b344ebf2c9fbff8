// SSEConnection through produceSSE: how it ends (cleanup once, with its reason), the slow-consumer
// limit, and `ready()` pacing a writer to its reader. Keep-alive comments: keep-alive.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { endings, fill, KiB, open, settle } from '../../testing/sse-body.js';
import type { Cleanup } from './produce-sse.js';

afterEach(() => {
	vi.useRealTimers();
	vi.restoreAllMocks();
});

// How a connection ends; the producer's own cleanup is in produce-sse.test.ts.
describe('cleanup', () => {
	it.each(endings)('runs once, with its reason, when $name', async ({ reason, end }) => {
		vi.useFakeTimers();
		const timers = vi.getTimerCount();
		const request = new AbortController();
		// A period no other stream uses, so the keep-alive timer is this stream's alone.
		const opened = open({ signal: request.signal, keepAliveMs: 7_001 });
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
		// More than one read takes (a read joins what is queued, up to 64 KiB).
		fill(connection, 200 * KiB);
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
