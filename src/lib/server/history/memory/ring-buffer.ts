// The ring buffer under every log of the in-memory store.
const INITIAL_SIZE = 8;

/**
 * A bounded FIFO on one array: O(1) push (evicting the oldest when full), O(1) shift and O(1)
 * indexed reads, with no copying as it wraps. The array starts empty and doubles up to the
 * capacity, so the many short histories (a session per visitor) cost what they hold, not their
 * bound; the copies that growth makes add up to less than one per item.
 */
export class RingBuffer<T> {
	readonly capacity: number;
	#items: Array<T | undefined>;
	#head = 0;
	#length = 0;

	constructor(capacity: number) {
		if (!Number.isInteger(capacity) || capacity < 1) {
			throw new RangeError(`A ring buffer needs a positive integer capacity, got ${capacity}.`);
		}
		this.capacity = capacity;
		this.#items = [];
	}

	get length(): number {
		return this.#length;
	}

	/** Appends `item`; returns the item it evicted to make room, if any. */
	push(item: T): T | undefined {
		let evicted: T | undefined;
		if (this.#length === this.capacity) evicted = this.shift();
		else if (this.#length === this.#items.length) this.#grow();
		this.#items[(this.#head + this.#length) % this.#items.length] = item;
		this.#length++;
		return evicted;
	}

	/** Doubles the array (up to the capacity), laying the items out from index 0. */
	#grow(): void {
		const size = Math.max(INITIAL_SIZE, this.#items.length * 2);
		const items = new Array<T | undefined>(Math.min(this.capacity, size));
		for (let i = 0; i < this.#length; i++) items[i] = this.at(i);
		this.#items = items;
		this.#head = 0;
	}

	/** Removes and returns the oldest item. */
	shift(): T | undefined {
		if (this.#length === 0) return undefined;
		const item = this.#items[this.#head];
		this.#items[this.#head] = undefined; // let it be collected
		this.#head = (this.#head + 1) % this.#items.length;
		this.#length--;
		return item;
	}

	/** The item at `index` from the oldest (0) to the newest (`length - 1`). */
	at(index: number): T | undefined {
		if (index < 0 || index >= this.#length) return undefined;
		return this.#items[(this.#head + index) % this.#items.length];
	}

	/** The oldest item. */
	peek(): T | undefined {
		return this.at(0);
	}

	/**
	 * The index of the first item for which `isAfter` holds, in O(log n), for items kept in an
	 * order where `isAfter` is false and then true (such as events in `seq` order).
	 */
	firstIndexWhere(isAfter: (item: T) => boolean): number {
		let low = 0;
		let high = this.#length;
		while (low < high) {
			const mid = (low + high) >>> 1;
			if (isAfter(this.at(mid) as T)) high = mid;
			else low = mid + 1;
		}
		return low;
	}
}
