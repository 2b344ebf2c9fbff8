// defineTopics and the client given a definition: what it refuses at once (a bad definition, a
// topic it does not define), what it subscribes to by default, and `validate` on the fake
// EventSource. The same over real HTTP with the real hub is tests/client/definition.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FakeEventSource } from '../testing/fake-event-source.js';
import {
	defineTopics,
	SSEClient,
	type SSEClientError,
	type SSEClientOptions,
	type TopicsOf,
} from './sse-client.svelte.js';

const topics = defineTopics({
	chat: z.object({ text: z.string().min(1) }),
	count: z.number(),
	presence: null,
});

type Topics = TopicsOf<typeof topics>;
const clients: SSEClient<Topics>[] = [];
beforeEach(() => FakeEventSource.reset());
afterEach(() => {
	for (const client of clients.splice(0)) client.close();
});

/** A client of `topics` on the fake EventSource, connected and open. */
function connected(options: Omit<SSEClientOptions<Topics>, 'definition'> = {}) {
	const client = new SSEClient('/api/events', {
		definition: topics,
		EventSource: FakeEventSource,
		autoConnect: false,
		share: false,
		...options,
	});
	clients.push(client);
	client.connect();
	FakeEventSource.latest.open();
	return client;
}

describe('defineTopics', () => {
	it('keeps the names in order and the schemas of the topics that have one, frozen', () => {
		expect(topics.names).toEqual(['chat', 'count', 'presence']);
		expect(Object.keys(topics.schemas)).toEqual(['chat', 'count']);
		expect(Object.isFrozen(topics)).toBe(true);
		expect(Object.isFrozen(topics.names)).toBe(true);
		expect(Object.isFrozen(topics.schemas)).toBe(true);
	});

	it.each([
		['sse:ready', /not a topic name.*"sse:"/],
		['has space', /not a topic name/],
		['a\nb', /not a topic name/],
		['x'.repeat(129), /not a topic name: use 1 to 128/],
		['', /not a topic name/],
	])('refuses the name %j', (name, message) => {
		expect(() => defineTopics({ [name]: null })).toThrow(TypeError);
		expect(() => defineTopics({ [name]: null })).toThrow(message);
	});

	it.each([
		['a string', 'z.string()', /"chat" must be a Standard Schema.*got string "z.string\(\)"/],
		[
			'undefined (a missing import)',
			undefined,
			/"chat" must be .* or null for none; got undefined/,
		],
		['a function', () => true, /got a function/],
		[
			'an object that is no schema',
			{ parse: () => 1 },
			/got an object without `~standard.validate`/,
		],
	])('refuses %s as a schema', (_, value, message) => {
		// @ts-expect-error: what the types refuse too, as a JavaScript caller could pass it
		expect(() => defineTopics({ chat: value })).toThrow(message);
	});

	it('refuses no topics, and something other than an object', () => {
		expect(() => defineTopics({})).toThrow(/define at least one topic/);
		// @ts-expect-error: a list of names is not a definition
		expect(() => defineTopics(['chat'])).toThrow(/pass an object of topic → schema .*got an array/);
	});
});

describe('SSEClient with a definition', () => {
	it('subscribes to every topic it defines unless given topics', () => {
		connected();
		expect(FakeEventSource.latest.topics).toEqual(['chat', 'count', 'presence']);
		connected({ topics: ['count'] });
		expect(FakeEventSource.latest.topics).toEqual(['count']);
	});

	it('refuses a topic the definition does not have, in topics, on and updateTopics', () => {
		// Casts: a JavaScript caller, or a name that came from elsewhere; the types refuse each.
		const nope = 'nope' as 'chat';
		expect(() => connected({ topics: [nope] })).toThrow(
			'SSEClient: "nope" is not in the topics definition (chat, count, presence).',
		);
		const client = connected();
		expect(() => client.on(nope, () => {})).toThrow(TypeError);
		expect(() => client.updateTopics({ addTopics: ['count', nope] })).toThrow(/"nope" is not/);
		expect(client.topics).toEqual(['chat', 'count', 'presence']); // nothing changed
	});

	it('validate: checks events with the definition’s schemas; what fails goes to onError', () => {
		const errors: SSEClientError[] = [];
		const chats: unknown[] = [];
		const presence: unknown[] = [];
		connected({
			validate: true,
			topics: { chat: (m) => chats.push(m), presence: (p) => presence.push(p) },
			onError: (error) => errors.push(error),
		});
		const source = FakeEventSource.latest;
		source.emit('chat', JSON.stringify({ text: '' }), 'e-1');
		source.emit('chat', JSON.stringify({ text: 'hi' }), 'e-2');
		source.emit('presence', JSON.stringify('anything'), 'e-3'); // no schema: unchecked
		expect(chats).toEqual([{ text: 'hi' }]);
		expect(presence).toEqual(['anything']);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatchObject({ code: 'schema', topic: 'chat' });
		expect(errors[0]?.message).toMatch(/^Event e-1 of "chat" fails its schema: /);
	});

	it('without validate, delivers what the hub checked as it comes', () => {
		const chats: unknown[] = [];
		connected({ topics: { chat: (m) => chats.push(m) } });
		FakeEventSource.latest.emit('chat', JSON.stringify({ text: '' }), 'e-1');
		expect(chats).toEqual([{ text: '' }]);
	});

	it('schemas adds a check for a topic defined without one; a topic may not have two', () => {
		const errors: SSEClientError[] = [];
		connected({
			validate: true,
			schemas: { presence: z.array(z.string()) },
			onError: (error) => errors.push(error),
		});
		FakeEventSource.latest.emit('presence', JSON.stringify('ann'), 'e-1');
		expect(errors).toMatchObject([{ code: 'schema', topic: 'presence' }]);
		expect(() => connected({ validate: true, schemas: { count: z.number() } })).toThrow(
			'SSEClient: "count" has a schema in the topics definition and in `schemas`: give it once.',
		);
	});

	it('validate without a definition is a mistake, said at once', () => {
		expect(() => new SSEClient('/api/events', { validate: true, autoConnect: false })).toThrow(
			/`validate` checks events with the schemas of `definition`: pass the definition too/,
		);
	});
});
