import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { describe, expect, it } from 'vitest';
import {
	assertEventId,
	assertTopicName,
	encodeComment,
	encodeControl,
	encodeEvent,
	encodeRetry,
	formatEventId,
	frame,
	MAX_TOPIC_LENGTH,
	parseEventId,
	serializeData,
	topicNameProblem,
} from './index.js';

/** What a WHATWG-conformant client reads from `text`. */
function parse(text: string) {
	const events: EventSourceMessage[] = [];
	const comments: string[] = [];
	const retries: number[] = [];
	const errors: Error[] = [];
	createParser({
		onEvent: (event) => events.push(event),
		onComment: (comment) => comments.push(comment),
		onRetry: (retry) => retries.push(retry),
		onError: (error) => errors.push(error),
	}).feed(text);
	return { events, comments, retries, errors };
}

describe('frame', () => {
	it('writes event and data lines and a blank line', () => {
		expect(frame('chat', '{"a":1}')).toBe('event: chat\ndata: {"a":1}\n\n');
	});

	it('puts the id first when there is one', () => {
		expect(frame('chat', '1', 'e-7')).toBe('id: e-7\nevent: chat\ndata: 1\n\n');
	});
});

describe('encodeEvent', () => {
	it('serializes data as one JSON data line', () => {
		expect(encodeEvent('chat', { text: 'hi' }, 'e-1')).toBe(
			'id: e-1\nevent: chat\ndata: {"text":"hi"}\n\n',
		);
		expect(encodeEvent('tick', 42)).toBe('event: tick\ndata: 42\n\n');
		expect(encodeEvent('nothing', null)).toBe('event: nothing\ndata: null\n\n');
	});

	it('keeps line breaks inside data escaped, so one event stays one data line', () => {
		const data = { text: 'a\nb\r\nc\rd', emoji: '🎉', separators: '\u2028\u2029', nel: '\u0085' };
		const text = encodeEvent('chat', data);
		expect(text).toBe(
			'event: chat\ndata: {"text":"a\\nb\\r\\nc\\rd","emoji":"🎉","separators":"\u2028\u2029","nel":"\u0085"}\n\n',
		);
		const { events, errors } = parse(text);
		expect(errors).toEqual([]);
		expect(events).toHaveLength(1);
		expect(events[0]?.event).toBe('chat');
		expect(JSON.parse(events[0]?.data ?? '')).toEqual(data);
	});

	it('round-trips through a conformant parser, ids included', () => {
		const text = encodeEvent('a.b:c-d_1', 'one', 'e-1') + encodeEvent('other', [1, 2]);
		expect(parse(text).events).toEqual([
			{ id: 'e-1', event: 'a.b:c-d_1', data: '"one"' },
			{ id: undefined, event: 'other', data: '[1,2]' },
		]);
	});

	it.each([
		['LF', 'chat\ndata: forged'],
		['CR', 'chat\rdata: forged'],
		['CRLF', 'chat\r\n'],
		['NUL', 'chat\0'],
		['the reserved prefix', 'sse:ready'],
		['an empty name', ''],
		['a space', 'two words'],
	])('refuses an event name with %s', (_, name) => {
		expect(() => encodeEvent(name, 1)).toThrow(TypeError);
	});

	it.each([
		['LF', 'e-1\nevent: forged'],
		['CR', 'e-1\r'],
		['NUL', 'e-1\0'],
	])('refuses an id with %s', (_, id) => {
		expect(() => encodeEvent('chat', 1, id)).toThrow(TypeError);
	});

	it.each([
		['undefined', undefined],
		['a function', () => 1],
		['a symbol', Symbol('s')],
		['a BigInt', 10n],
		['a cyclic object', cyclic()],
	])('refuses data JSON cannot carry: %s', (_, data) => {
		expect(() => encodeEvent('chat', data)).toThrow(TypeError);
	});
});

function cyclic(): unknown {
	const value: { self?: unknown } = {};
	value.self = value;
	return value;
}

describe('serializeData', () => {
	it('keeps the cause of a JSON failure', () => {
		let error: unknown;
		try {
			serializeData(10n);
		} catch (caught) {
			error = caught;
		}
		expect(error).toBeInstanceOf(TypeError);
		expect((error as Error).message).toMatch(/not JSON-serializable/);
		expect((error as Error).cause).toBeInstanceOf(TypeError);
	});

	it('names the type when JSON writes nothing', () => {
		expect(() => serializeData(undefined)).toThrow(/got undefined/);
		expect(() => serializeData(() => 1)).toThrow(/got function/);
	});
});

describe('encodeControl', () => {
	it('writes a control event without an id', () => {
		expect(encodeControl('sse:ready', { replayed: 3 })).toBe(
			'event: sse:ready\ndata: {"replayed":3}\n\n',
		);
		expect(encodeControl('sse:gap', { reason: 'expired', topics: ['a'] })).toBe(
			'event: sse:gap\ndata: {"reason":"expired","topics":["a"]}\n\n',
		);
	});

	it('refuses data JSON cannot carry', () => {
		expect(() => encodeControl('sse:gap', undefined)).toThrow(TypeError);
	});
});

describe('encodeComment', () => {
	it('writes a comment line that a parser reports as a comment, not an event', () => {
		expect(encodeComment('keep-alive')).toBe(': keep-alive\n\n');
		const { events, comments } = parse(encodeComment('keep-alive'));
		expect(events).toEqual([]);
		expect(comments).toEqual(['keep-alive']);
	});

	it.each(['a\nb', 'a\rb', 'a\0b'])('refuses %j', (text) => {
		expect(() => encodeComment(text)).toThrow(TypeError);
	});
});

describe('encodeRetry', () => {
	it('writes the retry field', () => {
		expect(encodeRetry(3000)).toBe('retry: 3000\n\n');
		expect(encodeRetry(0)).toBe('retry: 0\n\n');
		expect(parse(encodeRetry(2500)).retries).toEqual([2500]);
	});

	it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses %s', (ms) => {
		expect(() => encodeRetry(ms)).toThrow(TypeError);
	});
});

describe('event ids', () => {
	it('formats <epoch>-<seq> and reads it back', () => {
		expect(formatEventId('k3x9', 42)).toBe('k3x9-42');
		expect(parseEventId(formatEventId('k3x9', 42))).toEqual({ epoch: 'k3x9', seq: 42 });
		expect(parseEventId('abc_DEF-0')).toEqual({ epoch: 'abc_DEF', seq: 0 });
		expect(parseEventId('e-999999999999999')).toEqual({ epoch: 'e', seq: 999999999999999 });
	});

	it.each([
		['empty', ''],
		['no seq', 'epoch'],
		['no epoch', '-5'],
		['an empty seq', 'epoch-'],
		['a negative seq', 'epoch--5'],
		['a fractional seq', 'epoch-1.5'],
		['a hex seq', 'epoch-0x10'],
		['a seq past 15 digits', 'e-1234567890123456'],
		['a dash inside the epoch', 'a-b-1'],
		['a trailing newline', 'e-1\n'],
		['a leading space', ' e-1'],
		['a non-ASCII epoch', 'é-1'],
		['a foreign id', '550e8400-e29b-41d4-a716-446655440000'],
	])('reads a malformed id (%s) as null', (_, id) => {
		expect(parseEventId(id)).toBeNull();
	});
});

describe('topicNameProblem', () => {
	it('accepts letters, digits and _ . : -', () => {
		expect(topicNameProblem('a.b:c-d_1')).toBeNull();
		expect(topicNameProblem('Chat')).toBeNull();
		expect(topicNameProblem('x'.repeat(MAX_TOPIC_LENGTH))).toBeNull();
	});

	it.each([
		['empty', '', /non-empty/],
		['not a string', 42, /non-empty string/],
		['CR', 'a\rb', /CR, LF or NUL/],
		['LF', 'a\nb', /CR, LF or NUL/],
		['NUL', 'a\0b', /CR, LF or NUL/],
		['the sse: prefix', 'sse:gap', /reserved/],
		['more than 128 characters', 'x'.repeat(MAX_TOPIC_LENGTH + 1), /at most 128/],
		['a space', 'a b', /only letters, digits/],
		['a slash', 'a/b', /only letters, digits/],
		['a non-ASCII letter', 'café', /only letters, digits/],
	])('refuses %s', (_, name, problem) => {
		expect(topicNameProblem(name)).toMatch(problem);
	});

	it('is what assertTopicName throws, as a TypeError naming the topic', () => {
		expect(() => assertTopicName('a/b')).toThrow(
			new TypeError(
				'Invalid SSE event name "a/b": a topic name uses only letters, digits and _ . : -.',
			),
		);
		expect(() => assertTopicName('ok')).not.toThrow();
	});
});

describe('assertEventId', () => {
	it('accepts any string without CR, LF or NUL', () => {
		expect(() => assertEventId('anything goes: 🎉 \u2028')).not.toThrow();
	});

	it('refuses a non-string', () => {
		expect(() => assertEventId(7)).toThrow(TypeError);
	});
});
