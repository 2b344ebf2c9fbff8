// The history layer: the `HistoryStore` contract and the in-memory store (Redis: `./redis`, its own entry).
export {
	checkIdempotencyKey,
	DEFAULT_BOUNDS,
	type HistoryBounds,
	idempotencyKeyProblem,
	MAX_IDEMPOTENCY_KEY_LENGTH,
	resolveBounds,
} from './bounds.js';
export { newEpoch } from './epoch.js';
export { type MemoryHistoryOptions, memoryHistory } from './memory/memory.js';
export type {
	AppendedEvent,
	AppendInput,
	CursorRecord,
	HistoryStats,
	HistoryStore,
	LiveHandlers,
	ReadQuery,
	ReadResult,
	SeedHistoryStore,
	StoredEvent,
	SubscriptionRecord,
	TopicCursor,
} from './store.js';
export { currentStore, MAX_ENDED_RECORDS } from './store.js';
export { type SyncReads, syncReadsOf } from './sync-reads.js';
