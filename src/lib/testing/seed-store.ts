// A history store dressed in the seed's method names (`SeedHistoryStore`: setSubscription,
// subscriptions, subscribe), as a store written against the seed would be: for the tests that
// a hub reads such a store through `currentStore`.
import type { HistoryStore, SeedHistoryStore } from '../server/history/index.js';

export function seedNamed(store: HistoryStore): SeedHistoryStore {
	const { listen } = store;
	return {
		epoch: () => store.epoch(),
		head: () => store.head(),
		append: (input) => store.append(input),
		read: (query) => store.read(query),
		setSubscription: (session, record) => store.setCursorRecord(session, record),
		subscriptions: (session) => store.cursorRecords(session),
		subscribe: listen && ((handlers) => listen.call(store, handlers)),
		stats: () => store.stats(),
		close: () => store.close(),
	};
}
