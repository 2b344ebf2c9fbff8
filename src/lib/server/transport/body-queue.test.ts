import { describe, expect, it, vi } from 'vitest';
import { BodyQueue } from './body-queue.js';

// What the queue hands a reader in Node: Buffers (each over its own memory, not Node's pool).
const bytes = (...values: number[]) => Buffer.from(new Uint8Array(values).buffer);

function queue() {
	const hooks = { taken: vi.fn(), cancelled: vi.fn() };
	return { body: new BodyQueue(hooks), hooks };
}

describe('BodyQueue read through getReader()', () => {
	it('hands a chunk to a waiting read, and queues it otherwise', async () => {
		const { body } = queue();
		const reader = body.stream.getReader();
		const waiting = reader.read();
		body.push(bytes(1));
		expect(await waiting).toEqual({ done: false, value: bytes(1) });
		body.push(bytes(2));
		expect(body.bytes).toBe(1);
		expect(await reader.read()).toEqual({ done: false, value: bytes(2) });
		expect(body.bytes).toBe(0);
	});

	it('gives a reader that fell behind what waits, joined into one chunk', async () => {
		const { body, hooks } = queue();
		for (let i = 1; i <= 5; i++) body.push(bytes(i));
		const reader = body.stream.getReader();
		expect(await reader.read()).toEqual({ done: false, value: bytes(1, 2, 3, 4, 5) });
		expect(hooks.taken).toHaveBeenCalledOnce();
	});

	it('joins at most 64 KiB per read, in order', async () => {
		const { body } = queue();
		for (let i = 0; i < 40; i++) body.push(new Uint8Array(2 * 1024).fill(i));
		const reader = body.stream.getReader();
		const sizes: number[] = [];
		const firsts: number[] = [];
		for (let i = 0; i < 2; i++) {
			const { value } = await reader.read();
			sizes.push(value?.length ?? 0);
			firsts.push(value?.[0] ?? -1);
		}
		expect(sizes).toEqual([64 * 1024, 16 * 1024]);
		expect(firsts).toEqual([0, 32]);
	});

	it('gives a plain Uint8Array shared by many streams to each as the same Buffer, not a copy', async () => {
		const shared = new Uint8Array([1, 2, 3]);
		const bodies = [queue(), queue(), queue()].map(({ body }) => body);
		const waiting = bodies.map((body) => body.stream.getReader().read());
		// As a tick's fan-out does: every stream gets it in the same turn.
		for (const body of bodies) body.push(shared);
		const values = (await Promise.all(waiting)).map((result) => result.value);
		expect(values[0]).toBeInstanceOf(Buffer);
		expect(values[0]?.buffer).toBe(shared.buffer);
		expect(values[1]).toBe(values[0]);
		expect(values[2]).toBe(values[0]);
		expect(values[0]).toEqual(bytes(1, 2, 3));
	});

	it('hands a large chunk over as it is, not joined: it is shared, not copied per stream', async () => {
		const { body } = queue();
		const large = Buffer.from(new Uint8Array(16 * 1024).fill(7).buffer);
		body.push(bytes(1));
		body.push(bytes(2));
		body.push(large);
		body.push(large);
		body.push(bytes(3));
		const reader = body.stream.getReader();
		expect(await reader.read()).toEqual({ done: false, value: bytes(1, 2) });
		expect((await reader.read()).value).toBe(large);
		expect((await reader.read()).value).toBe(large);
		expect(await reader.read()).toEqual({ done: false, value: bytes(3) });
		expect(body.bytes).toBe(0);
	});

	it('finish: what is queued first, then done, and `closed` settles', async () => {
		const { body } = queue();
		body.push(bytes(1));
		body.finish();
		body.push(bytes(2)); // too late: ignored
		const reader = body.stream.getReader();
		expect(await reader.read()).toEqual({ done: false, value: bytes(1) });
		expect(await reader.read()).toEqual({ done: true, value: undefined });
		await expect(reader.closed).resolves.toBeUndefined();
	});

	it('fail: drops what is queued, and reads (waiting or later) fail with the error', async () => {
		const { body } = queue();
		const reader = body.stream.getReader();
		const waiting = reader.read();
		const error = new Error('ended');
		body.fail(error);
		await expect(waiting).rejects.toBe(error);
		body.push(bytes(1));
		await expect(reader.read()).rejects.toBe(error);
		await expect(reader.closed).rejects.toBe(error);
	});

	it('a cancel by the reader ends waiting reads and tells the owner, once', async () => {
		const { body, hooks } = queue();
		const reader = body.stream.getReader();
		const waiting = reader.read();
		await reader.cancel(new Error('gone'));
		expect(await waiting).toEqual({ done: true, value: undefined });
		expect(hooks.cancelled).toHaveBeenCalledOnce();
		await reader.cancel();
		expect(hooks.cancelled).toHaveBeenCalledOnce();
	});

	it('locks the stream like a standard reader: one at a time, until released', async () => {
		const { body } = queue();
		const reader = body.stream.getReader();
		expect(body.stream.locked).toBe(true);
		expect(() => body.stream.getReader()).toThrow(TypeError);
		const waiting = reader.read();
		reader.releaseLock();
		await expect(waiting).rejects.toThrow(TypeError); // not left to take the next chunk
		await expect(reader.read()).rejects.toThrow(TypeError);
		body.push(bytes(7));
		expect(await body.stream.getReader().read()).toEqual({ done: false, value: bytes(7) });
	});
});

describe('BodyQueue read through the Web Streams machinery', () => {
	it('a Response reads it whole: every chunk, in order, then the end', async () => {
		const { body } = queue();
		body.push(new TextEncoder().encode('a'));
		const text = new Response(body.stream).text();
		body.push(new TextEncoder().encode('b'));
		setImmediate(() => {
			body.push(new TextEncoder().encode('c'));
			body.finish();
		});
		expect(await text).toBe('abc');
	});

	it('pipeTo and tee see the same bytes, in order', async () => {
		const { body } = queue();
		const [left, right] = body.stream.tee();
		const received: number[] = [];
		const piped = left.pipeTo(
			new WritableStream({ write: (chunk) => void received.push(...chunk) }),
		);
		body.push(bytes(1, 2));
		body.push(bytes(3));
		body.finish();
		await piped;
		expect(received).toEqual([1, 2, 3]);
		expect(await new Response(right).arrayBuffer()).toEqual(bytes(1, 2, 3).buffer);
	});

	it('a pipe that is aborted cancels the body, and the owner hears of it', async () => {
		const { body, hooks } = queue();
		const abort = new AbortController();
		const piped = body.stream.pipeTo(new WritableStream(), { signal: abort.signal });
		body.push(bytes(1));
		abort.abort();
		await expect(piped).rejects.toThrow();
		expect(hooks.cancelled).toHaveBeenCalledOnce();
	});

	it('for await: a consumer that stops early cancels the body', async () => {
		const { body, hooks } = queue();
		body.push(bytes(1));
		body.push(bytes(2));
		const seen: number[] = [];
		for await (const chunk of body.stream as unknown as AsyncIterable<Uint8Array>) {
			seen.push(...chunk);
			break;
		}
		expect(seen[0]).toBe(1);
		expect(hooks.cancelled).toHaveBeenCalledOnce();
	});
});
