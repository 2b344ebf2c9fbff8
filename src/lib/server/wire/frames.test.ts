import { describe, expect, it } from 'vitest';
import type { StoredEvent } from '../history/index.js';
import { frameLength, joinFrames } from './frames.js';

const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

function events(epoch: string, from: number, count: number, topic = 'logs'): StoredEvent[] {
	return Array.from({ length: count }, (_, i) => ({
		seq: from + i,
		id: `${epoch}-${from + i}`,
		topic,
		data: JSON.stringify({ n: from + i }),
		time: 0,
	}));
}

describe('joinFrames', () => {
	it('joins the frames in order, and gives the same bytes to whoever asks for the same events', () => {
		const run = joinFrames(events('e1', 1, 3));
		expect(decode(run)).toBe(
			'id: e1-1\nevent: logs\ndata: {"n":1}\n\n' +
				'id: e1-2\nevent: logs\ndata: {"n":2}\n\n' +
				'id: e1-3\nevent: logs\ndata: {"n":3}\n\n',
		);
		// Other objects for the same events (as a shared store's reads make): one copy.
		expect(joinFrames(events('e1', 1, 3))).toBe(run);
	});

	it('never mistakes events of another epoch or another selection for the same run', () => {
		const run = joinFrames(events('e2', 1, 2));
		const otherEpoch = joinFrames(events('e3', 1, 2));
		expect(decode(otherEpoch)).toContain('id: e3-1');
		const a = events('e2', 1, 3, 'a');
		const mixed = joinFrames([a[0], { ...a[1], topic: 'b' }, a[2]] as StoredEvent[]);
		expect(decode(mixed)).toContain('event: b');
		expect(joinFrames([a[0], a[2]] as StoredEvent[])).not.toBe(run);
	});

	it('never gives one event the frame of another that has its id (another hub, another store)', () => {
		const [mine] = events('e7', 1, 1) as [StoredEvent];
		const theirs = { ...mine, data: JSON.stringify({ n: 'other' }) };
		expect(decode(joinFrames([mine]))).toContain('data: {"n":1}');
		expect(decode(joinFrames([theirs]))).toContain('data: {"n":"other"}');
		const pair = events('e7', 2, 2);
		expect(decode(joinFrames(pair))).toContain('event: logs');
		const elsewhere = pair.map((event) => ({ ...event, topic: 'audit' }));
		expect(decode(joinFrames(elsewhere))).not.toContain('event: logs');
	});

	it('shares the frame of one event too, since a stored event keeps none of its own', () => {
		const [event] = events('e5', 1, 1) as [StoredEvent];
		const single = joinFrames([event]);
		expect(decode(single)).toBe('id: e5-1\nevent: logs\ndata: {"n":1}\n\n');
		expect(joinFrames([{ ...event }])).toBe(single);
	});

	it('keeps a bounded number of runs: an old one is joined again, not kept forever', () => {
		const first = joinFrames(events('e4', 1, 2));
		for (let i = 0; i < 100; i++) joinFrames(events('e4', 10 + i * 2, 2));
		const again = joinFrames(events('e4', 1, 2));
		expect(again).not.toBe(first);
		expect(again).toEqual(first);
	});
});

describe('frameLength', () => {
	it('is the byte length of an ASCII frame, and at least a third of any other', () => {
		const ascii = events('e6', 7, 1)[0] as StoredEvent;
		expect(frameLength(ascii)).toBe(joinFrames([ascii]).length);
		const wide = { ...ascii, id: 'e6-8', data: JSON.stringify('日本語 🎉') };
		const bytes = joinFrames([wide]).length;
		expect(frameLength(wide)).toBeLessThan(bytes);
		expect(frameLength(wide) * 3).toBeGreaterThanOrEqual(bytes);
	});
});
