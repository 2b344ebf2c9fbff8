import { describe, expect, it } from 'vitest';
import { memoryHistory } from './memory/memory.js';
import type { CursorRecord, HistoryStore } from './store.js';
import { syncReadsOf } from './sync-reads.js';

const record = (connection: string, to: number | null): CursorRecord => ({
	connection,
	topics: ['a'],
	from: 0,
	to,
});

describe('syncReadsOf', () => {
	it("answers as the memory store's own methods do", async () => {
		const store = memoryHistory();
		const sync = syncReadsOf(store);
		if (!sync) throw new Error('memoryHistory registers its synchronous reads');
		await store.append({ topic: 'a', data: '1' });
		await store.append({ topic: 'b', data: '2' });
		expect(sync.epoch()).toBe(await store.epoch());
		expect(sync.head()).toBe(await store.head());
		const query = { session: 's', cursors: [{ topic: 'a', after: 0 }], limit: 10 };
		expect(sync.read(query)).toEqual(await store.read(query));

		expect(sync.cursorRecords('s')).toBeNull();
		sync.setCursorRecord('s', record('c1', null));
		await store.setCursorRecord('s', record('c2', 2));
		expect(sync.cursorRecords('s')).toEqual(await store.cursorRecords('s'));
		expect(await store.cursorRecords('s')).toEqual([record('c1', null), record('c2', 2)]);
	});

	it('leaves a copy made by spreading the store to the methods it wraps', async () => {
		const store = memoryHistory();
		const wrapped: HistoryStore = { ...store, read: async () => ({ events: [], expired: [] }) };
		expect(syncReadsOf(wrapped)).toBeUndefined();
		expect(syncReadsOf(store)).toBeDefined();
	});

	it('leaves the store to its methods once one of them is replaced', async () => {
		const store = memoryHistory();
		const setCursorRecord = store.setCursorRecord.bind(store);
		store.setCursorRecord = (session, record) => setCursorRecord(session, record);
		expect(syncReadsOf(store)).toBeUndefined();
	});
});
