import { describe, expect, it } from 'vitest';
import { RingBuffer } from './ring-buffer.js';

/** Everything in the buffer, oldest first, read through the public `at`. */
function contents<T>(buffer: RingBuffer<T>): T[] {
	return Array.from({ length: buffer.length }, (_, i) => buffer.at(i) as T);
}

describe('RingBuffer', () => {
	it('refuses a capacity that is not a positive integer', () => {
		for (const capacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
			expect(() => new RingBuffer(capacity)).toThrow(RangeError);
		}
		expect(() => new RingBuffer(0)).toThrow(/positive integer capacity, got 0/);
		expect(new RingBuffer(1).capacity).toBe(1);
	});

	it('is empty at first', () => {
		const buffer = new RingBuffer<number>(3);
		expect(buffer.length).toBe(0);
		expect(buffer.peek()).toBeUndefined();
		expect(buffer.at(0)).toBeUndefined();
		expect(buffer.shift()).toBeUndefined();
		expect(buffer.length).toBe(0);
		expect(buffer.firstIndexWhere(() => true)).toBe(0);
	});

	it('pushes in order and evicts nothing until full', () => {
		const buffer = new RingBuffer<number>(3);
		expect(buffer.push(1)).toBeUndefined();
		expect(buffer.push(2)).toBeUndefined();
		expect(buffer.push(3)).toBeUndefined();
		expect(buffer.length).toBe(3);
		expect(contents(buffer)).toEqual([1, 2, 3]);
		expect(buffer.peek()).toBe(1);
	});

	it('evicts and returns the oldest item when full', () => {
		const buffer = new RingBuffer<number>(3);
		for (const n of [1, 2, 3]) buffer.push(n);
		expect(buffer.push(4)).toBe(1);
		expect(buffer.push(5)).toBe(2);
		expect(buffer.length).toBe(3);
		expect(contents(buffer)).toEqual([3, 4, 5]);
		expect(buffer.peek()).toBe(3);
	});

	it('with capacity 1 always holds just the newest item', () => {
		const buffer = new RingBuffer<string>(1);
		expect(buffer.push('a')).toBeUndefined();
		expect(buffer.push('b')).toBe('a');
		expect(contents(buffer)).toEqual(['b']);
		expect(buffer.shift()).toBe('b');
		expect(buffer.length).toBe(0);
	});

	it('shifts the oldest item out', () => {
		const buffer = new RingBuffer<number>(3);
		for (const n of [1, 2, 3]) buffer.push(n);
		expect(buffer.shift()).toBe(1);
		expect(buffer.length).toBe(2);
		expect(buffer.peek()).toBe(2);
		expect(buffer.shift()).toBe(2);
		expect(buffer.shift()).toBe(3);
		expect(buffer.shift()).toBeUndefined();
		expect(buffer.length).toBe(0);
	});

	it('reads by index from the oldest, and nothing outside 0..length-1', () => {
		const buffer = new RingBuffer<number>(4);
		for (const n of [10, 20, 30]) buffer.push(n);
		expect(buffer.at(0)).toBe(10);
		expect(buffer.at(2)).toBe(30);
		expect(buffer.at(3)).toBeUndefined(); // inside capacity, outside length
		expect(buffer.at(-1)).toBeUndefined();
		expect(buffer.at(100)).toBeUndefined();
	});

	it('keeps FIFO order through many wrap-arounds with mixed push and shift', () => {
		const capacity = 5;
		const buffer = new RingBuffer<number>(capacity);
		const model: number[] = [];
		let next = 0;
		// A fixed, irregular pattern so the head lands on every slot of the array.
		const pattern = [3, -1, 4, -2, 6, -5, 1, 1, -1, 7, -3, 2];
		for (let round = 0; round < 20; round++) {
			for (const step of pattern) {
				if (step > 0) {
					for (let k = 0; k < step; k++) {
						const evicted = buffer.push(next);
						model.push(next++);
						const expected = model.length > capacity ? model.shift() : undefined;
						expect(evicted).toBe(expected);
					}
				} else {
					for (let k = 0; k < -step; k++) expect(buffer.shift()).toBe(model.shift());
				}
				expect(buffer.length).toBe(model.length);
				expect(contents(buffer)).toEqual(model);
				expect(buffer.peek()).toBe(model[0]);
			}
		}
	});

	it('grows while it fills, keeping order across growth that happens mid-wrap, up to the capacity', () => {
		const ring = new RingBuffer<number>(100);
		const model: number[] = [];
		let next = 0;
		// Shift now and then so the head has moved when the array grows.
		for (let step = 0; step < 400; step++) {
			if (step % 7 === 3 && model.length > 0) expect(ring.shift()).toBe(model.shift());
			const evicted = ring.push(next);
			model.push(next++);
			if (model.length > 100) expect(evicted).toBe(model.shift());
			else expect(evicted).toBeUndefined();
			expect(ring.length).toBe(model.length);
			expect(Array.from({ length: ring.length }, (_, i) => ring.at(i))).toEqual(model);
		}
		const index = ring.firstIndexWhere((n) => n > (model[40] as number));
		expect(index).toBe(41);
	});

	it('does not hold on to items it has shifted or evicted', () => {
		// After wrapping, `at` past length must not resurrect a stale slot.
		const buffer = new RingBuffer<number>(3);
		for (const n of [1, 2, 3, 4]) buffer.push(n);
		buffer.shift();
		expect(buffer.length).toBe(2);
		expect(buffer.at(2)).toBeUndefined();
	});

	describe('firstIndexWhere', () => {
		it('finds the boundary of a false-then-true predicate', () => {
			const buffer = new RingBuffer<number>(8);
			for (const n of [1, 3, 5, 7, 9]) buffer.push(n);
			expect(buffer.firstIndexWhere((n) => n > 0)).toBe(0);
			expect(buffer.firstIndexWhere((n) => n > 1)).toBe(1);
			expect(buffer.firstIndexWhere((n) => n > 4)).toBe(2);
			expect(buffer.firstIndexWhere((n) => n > 5)).toBe(3);
			expect(buffer.firstIndexWhere((n) => n > 9)).toBe(5); // none: length
		});

		it('searches in logical order after the buffer has wrapped', () => {
			const capacity = 7;
			const buffer = new RingBuffer<number>(capacity);
			// Push 1..19: the buffer holds 13..19 and its head sits mid-array.
			for (let n = 1; n <= 19; n++) buffer.push(n);
			expect(contents(buffer)).toEqual([13, 14, 15, 16, 17, 18, 19]);
			for (let after = 0; after <= 20; after++) {
				const expected = Math.min(Math.max(after - 12, 0), capacity);
				expect(buffer.firstIndexWhere((n) => n > after)).toBe(expected);
				const index = buffer.firstIndexWhere((n) => n > after);
				if (index < buffer.length) expect(buffer.at(index)).toBe(Math.max(after + 1, 13));
			}
		});

		it('agrees with a linear scan at every head position and length', () => {
			const capacity = 6;
			for (let offset = 0; offset < capacity; offset++) {
				for (let length = 0; length <= capacity; length++) {
					const buffer = new RingBuffer<number>(capacity);
					// Move the head to `offset`, then fill `length` items with gaps between values.
					for (let k = 0; k < offset; k++) buffer.push(-1);
					for (let k = 0; k < offset; k++) buffer.shift();
					for (let k = 0; k < length; k++) buffer.push(k * 2);
					const items = contents(buffer);
					for (let threshold = -1; threshold <= length * 2; threshold++) {
						const linear = items.findIndex((n) => n > threshold);
						expect(buffer.firstIndexWhere((n) => n > threshold)).toBe(linear < 0 ? length : linear);
					}
				}
			}
		});

		it('calls the predicate O(log n) times', () => {
			const buffer = new RingBuffer<number>(1024);
			for (let n = 0; n < 1500; n++) buffer.push(n);
			let calls = 0;
			const index = buffer.firstIndexWhere((n) => {
				calls++;
				return n > 1000;
			});
			expect(buffer.at(index)).toBe(1001);
			expect(calls).toBeLessThanOrEqual(11);
		});
	});
});
