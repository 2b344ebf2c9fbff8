// Keep-alive comments on a produceSSE stream: every 15 s by default or every `keepAliveMs`, one
// timer per period for all the streams that use it, none with 0, and no interval Node cannot keep.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { open, RETRY } from '../../testing/sse-body.js';
import { produceSSE } from './produce-sse.js';

afterEach(() => {
	vi.useRealTimers();
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

	it('uses one timer for every stream of a period, and stops it when the last one ends', async () => {
		vi.useFakeTimers();
		const timers = vi.getTimerCount();
		const streams = Array.from({ length: 100 }, () => open({ keepAliveMs: 2_000 }));
		expect(vi.getTimerCount()).toBe(timers + 1);

		vi.advanceTimersByTime(2_000);
		for (const { client } of streams) expect(await client.readComments(1)).toEqual(['keep-alive']);

		for (const { connection } of streams.slice(1)) connection.close();
		vi.advanceTimersByTime(2_000);
		expect(await streams[0]?.client.readComments(1)).toEqual(['keep-alive']);
		expect(vi.getTimerCount()).toBe(timers + 1);
		streams[0]?.connection.close();
		expect(vi.getTimerCount()).toBe(timers);
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
