// What a store in this process can answer at once: the hub opens a stream with these instead of
// waiting a promise tick per call (ten thousand clients reconnecting pay each tick ten thousand
// times). Only while the store is as it registered them: a copy made by spreading it, or the
// store with one of these methods replaced (to wrap it, as tests do), goes through its methods.
import type { CursorRecord, HistoryStore, ReadQuery, ReadResult } from './store.js';

/** The `HistoryStore` methods a stream's opening uses, answered synchronously, with the same results. */
export interface SyncReads {
	epoch(): string;
	head(): number;
	read(query: ReadQuery): ReadResult;
	setCursorRecord(session: string, record: CursorRecord): void;
	/** The session's records as they are held: read them, do not change them. */
	cursorRecords(session: string): readonly CursorRecord[] | null;
}

const MIRRORED = ['epoch', 'head', 'read', 'setCursorRecord', 'cursorRecords'] as const;
type Mirrored = Pick<HistoryStore, (typeof MIRRORED)[number]>;

/** Each store's synchronous answers, and the methods they stand for as they were then. */
const registered = new WeakMap<HistoryStore, { reads: SyncReads; methods: Mirrored }>();

/** Registers `reads` as `store`'s synchronous answers; returns `store`. */
export function withSyncReads(store: HistoryStore, reads: SyncReads): HistoryStore {
	const { epoch, head, read, setCursorRecord, cursorRecords } = store;
	registered.set(store, { reads, methods: { epoch, head, read, setCursorRecord, cursorRecords } });
	return store;
}

/** `store`'s synchronous answers, when it registered them and still has the methods it had. */
export function syncReadsOf(store: HistoryStore): SyncReads | undefined {
	const entry = registered.get(store);
	if (!entry) return undefined;
	for (const name of MIRRORED) if (store[name] !== entry.methods[name]) return undefined;
	return entry.reads;
}
