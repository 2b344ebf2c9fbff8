// The client file copies three rules of the wire protocol (it must import only from `svelte`): what
// a hub event id looks like, the gap reasons, and what a topic may be named (for defineTopics).
// This holds the copies to the server's.
import { describe, expect, expectTypeOf, it } from 'vitest';
import type { GapReason } from '../server/replay/index.js';
import { formatEventId, parseEventId, topicNameProblem } from '../server/wire/index.js';
import { FakeEventSource } from '../testing/fake-event-source.js';
import { isTopicName, SSEClient, type SSEGap } from './sse-client.svelte.js';

const ids = [
	formatEventId('lq2x9k1a3f', 41),
	formatEventId('e', 1),
	formatEventId('A_b9', 999_999_999_999_999),
	'e-1234567890123456',
	'e--1',
	'-1',
	'e-1.5',
	'e-1-2',
	'e f-1',
	'é-1',
	'e-',
	'not a hub id',
	'',
];

describe('the client and the server agree on', () => {
	it.each(ids)('whether %j is a hub event id (a repeat of one is dropped)', (id) => {
		const seen: string[] = [];
		const client = new SSEClient<{ chat: number }>('/events', {
			EventSource: FakeEventSource,
			autoConnect: false,
			topics: { chat: (_, meta) => seen.push(meta.id) },
		});
		FakeEventSource.reset();
		client.connect();
		const source = FakeEventSource.latest;
		source.open();
		source.emit('chat', '1', id);
		// The browser reconnects and the replay repeats it (a new stream: not an id-less event).
		source.error();
		source.open();
		source.emit('chat', '1', id);
		client.close();
		const hubId = parseEventId(id) !== null;
		expect(seen.length, `delivered ${JSON.stringify(seen)}`).toBe(hubId ? 1 : 2);
	});

	it.each([
		'chat',
		'room:42.messages_v2-x',
		'x'.repeat(128),
		'x'.repeat(129),
		'',
		'sse:ready',
		'sse:',
		'ssE:x',
		'a b',
		'a/b',
		'a\nb',
		'a\rb',
		'a\0b',
		'é',
		'chat\n',
	])('whether %j is a topic name', (name) => {
		expect(isTopicName(name)).toBe(topicNameProblem(name) === null);
	});

	it('the gap reasons', () => {
		expectTypeOf<SSEGap['reason']>().toEqualTypeOf<GapReason>();
	});
});
