import { describe, expect, it } from 'vitest';
import { record } from '../../testing/records.js';
import { memoryHistory } from '../history/index.js';
import { analyzeTopicSafety, setTopicSubscription } from './topic-safety.js';

describe('analyzeTopicSafety', () => {
	it('counts every topic as added when the session has no records', () => {
		expect(analyzeTopicSafety([], 10, ['a', 'b'])).toEqual({ had: [], added: ['a', 'b'] });
		expect(analyzeTopicSafety([], 0, [])).toEqual({ had: [], added: [] });
	});

	it('lets a record that covers the position decide what the client had', () => {
		const records = [record('c1', ['a', 'b'], 5, 20)];
		expect(analyzeTopicSafety(records, 10, ['a', 'b', 'c'])).toEqual({
			had: ['a', 'b'],
			added: ['c'],
		});
		expect(analyzeTopicSafety(records, 10, ['c'])).toEqual({ had: [], added: ['c'] });
	});

	it('keeps the order of the requested topics', () => {
		const records = [record('c1', ['z', 'a', 'm'], 0, null)];
		expect(analyzeTopicSafety(records, 3, ['m', 'x', 'a', 'y', 'z'])).toEqual({
			had: ['m', 'a', 'z'],
			added: ['x', 'y'],
		});
	});

	it('ignores records whose range does not contain the position', () => {
		const records = [record('early', ['a'], 0, 9), record('late', ['b'], 21, 30)];
		// Neither covers 15: nothing is known, so everything is new.
		expect(analyzeTopicSafety(records, 15, ['a', 'b'])).toEqual({
			had: [],
			added: ['a', 'b'],
		});
		expect(analyzeTopicSafety(records, 5, ['a', 'b'])).toEqual({ had: ['a'], added: ['b'] });
		expect(analyzeTopicSafety(records, 25, ['a', 'b'])).toEqual({ had: ['b'], added: ['a'] });
	});

	it('treats from and to as inclusive bounds', () => {
		const records = [record('c1', ['a'], 5, 9)];
		expect(analyzeTopicSafety(records, 4, ['a']).had).toEqual([]);
		expect(analyzeTopicSafety(records, 5, ['a']).had).toEqual(['a']);
		expect(analyzeTopicSafety(records, 9, ['a']).had).toEqual(['a']);
		expect(analyzeTopicSafety(records, 10, ['a']).had).toEqual([]);
	});

	it('treats to = null as open: it covers every position from `from` on', () => {
		const records = [record('c1', ['a'], 7, null)];
		expect(analyzeTopicSafety(records, 6, ['a']).had).toEqual([]);
		expect(analyzeTopicSafety(records, 7, ['a']).had).toEqual(['a']);
		expect(analyzeTopicSafety(records, 1_000_000, ['a']).had).toEqual(['a']);
	});

	it('counts a topic only one of two tabs at the same position had as added', () => {
		// One session, two tabs, both could stand at 12: tab 1 had a+b, tab 2 had a+c.
		const records = [record('tab1', ['a', 'b'], 10, 15), record('tab2', ['a', 'c'], 0, null)];
		expect(analyzeTopicSafety(records, 12, ['a', 'b', 'c'])).toEqual({
			had: ['a'],
			added: ['b', 'c'],
		});
		// The order of the records does not matter.
		expect(analyzeTopicSafety([...records].reverse(), 12, ['a', 'b', 'c'])).toEqual({
			had: ['a'],
			added: ['b', 'c'],
		});
		// Past tab 1's range only tab 2 could have left the client there.
		expect(analyzeTopicSafety(records, 16, ['a', 'b', 'c'])).toEqual({
			had: ['a', 'c'],
			added: ['b'],
		});
	});

	it('counts a topic a record added as had except at its start, where its history may be unsent', () => {
		// The stream started at 8 and gave b its history (older seqs, merged before what is new).
		const records = [{ ...record('c1', ['a', 'b'], 8, null), added: ['b'] }];
		expect(analyzeTopicSafety(records, 8, ['a', 'b'])).toEqual({ had: ['a'], added: ['b'] });
		expect(analyzeTopicSafety(records, 9, ['a', 'b'])).toEqual({ had: ['a', 'b'], added: [] });
		// Below its start: the client stopped in b's history (in seq order): it has b up to 5.
		expect(analyzeTopicSafety(records, 5, ['a', 'b'])).toEqual({ had: ['a', 'b'], added: [] });
		// A record that added nothing cannot leave the client below its start.
		const plain = [{ ...record('c1', ['a'], 8, null), added: [] }];
		expect(analyzeTopicSafety(plain, 5, ['a'])).toEqual({ had: [], added: ['a'] });
	});

	it("with a client id, reads that client's records only", () => {
		const records = [
			{ ...record('x', ['a'], 0, null), client: 'tab1', added: [] },
			{ ...record('y', ['a', 'b'], 0, null), client: 'tab2', added: [] },
		];
		expect(analyzeTopicSafety(records, 3, ['a', 'b'])).toEqual({ had: ['a'], added: ['b'] });
		expect(analyzeTopicSafety(records, 3, ['a', 'b'], 'tab2')).toEqual({
			had: ['a', 'b'],
			added: [],
		});
		expect(analyzeTopicSafety(records, 3, ['a', 'b'], 'tab3')).toEqual({
			had: [],
			added: ['a', 'b'],
		});
	});

	it('does not change the records or the topic list it is given', () => {
		const records = [record('c1', ['a'], 0, null)];
		const topics = ['a', 'b'];
		const snapshot = structuredClone({ records, topics });
		const result = analyzeTopicSafety(records, 1, topics);
		expect({ records, topics }).toEqual(snapshot);
		result.added.push('z');
		expect(topics).toEqual(['a', 'b']);
	});
});

describe('setTopicSubscription', () => {
	it('stores the record in the session, replacing by connection id', async () => {
		const store = memoryHistory();
		await setTopicSubscription(store, 's1', record('c1', ['a'], 0, null));
		await setTopicSubscription(store, 's1', record('c1', ['a', 'b'], 0, 4));
		expect(await store.cursorRecords('s1')).toEqual([record('c1', ['a', 'b'], 0, 4)]);
		expect(analyzeTopicSafety((await store.cursorRecords('s1')) ?? [], 3, ['a', 'b', 'c'])).toEqual(
			{ had: ['a', 'b'], added: ['c'] },
		);
	});
});
