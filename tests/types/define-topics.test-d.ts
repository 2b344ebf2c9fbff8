// Type tests, checked by `npm run check` (svelte-check) and never run: what a topics definition
// infers on both sides, and what it refuses. Each `@ts-expect-error` fails the check if the line
// under it compiles, so a refusal that stops working shows.
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
	defineTopics,
	getSSEContext,
	SSEClient,
	setSSEContext,
	type TopicMap,
	type TopicsDefinition,
	type TopicsOf,
} from '../../src/lib/index.js';
import {
	createEmitWithHistory,
	createSSEHub,
	memoryHistory,
	produceSSE,
} from '../../src/lib/server/index.js';

const chat = z.object({ user: z.string(), text: z.string() });
type Chat = { user: string; text: string };
type Presence = { online: string[] };

const topics = defineTopics({ chat, count: z.number(), presence: null });

/** Declared as an `interface`: no index signature. */
interface AppTopics {
	chat: Chat;
	presence: Presence;
}

describe('defineTopics', () => {
	it('infers each topic from its schema, and a topic without one as unknown', () => {
		expectTypeOf<TopicsOf<typeof topics>>().toEqualTypeOf<{
			chat: Chat;
			count: number;
			presence: unknown;
		}>();
		expectTypeOf(topics.names).toEqualTypeOf<readonly ('chat' | 'count' | 'presence')[]>();
	});

	it('takes the topic map as its generic, an interface too', () => {
		const typed = defineTopics<AppTopics>({ chat, presence: null });
		expectTypeOf(typed).toEqualTypeOf<TopicsDefinition<AppTopics>>();
		// @ts-expect-error: the schema does not fit the topic's type
		defineTopics<AppTopics>({ chat: z.number(), presence: null });
		// @ts-expect-error: a topic of the map is missing
		defineTopics<AppTopics>({ chat });
		// @ts-expect-error: a topic the map does not have
		defineTopics<AppTopics>({ chat, presence: null, extra: null });
	});

	it('takes a schema or null, nothing else', () => {
		// @ts-expect-error: not a Standard Schema
		defineTopics({ chat: { parse: () => 1 } });
		// @ts-expect-error: no schema is `null`, not `undefined`
		defineTopics({ chat: undefined });
	});
});

describe('createSSEHub with a definition', () => {
	const hub = createSSEHub({ topics, history: memoryHistory() });

	it('types publish from it', () => {
		void hub.publish('chat', { user: 'ann', text: 'hi' });
		void hub.publish('count', 1);
		void hub.publish('presence', { anything: true }); // unknown: any data
		// @ts-expect-error: wrong data for the topic
		void hub.publish('chat', { user: 'ann' });
		// @ts-expect-error: a topic the definition does not have
		void hub.publish('nope', {});
	});

	it('takes a server-only schema for a topic defined without one', () => {
		createSSEHub({ topics, schemas: { presence: z.object({ online: z.array(z.string()) }) } });
	});

	it('types authorize from it', () => {
		createSSEHub({
			topics,
			authorize: ({ topics }) => {
				expectTypeOf(topics).toEqualTypeOf<readonly ('chat' | 'count' | 'presence')[]>();
				return true;
			},
		});
	});
});

describe('SSEClient with a definition', () => {
	it('types handlers, on and updateTopics from it, with no generic', () => {
		const client = new SSEClient('/api/events', {
			definition: topics,
			topics: { chat: (message) => expectTypeOf(message).toEqualTypeOf<Chat>() },
			validate: true,
		});
		expectTypeOf(client).toEqualTypeOf<SSEClient<TopicsOf<typeof topics>>>();
		client.on('count', (n) => expectTypeOf(n).toEqualTypeOf<number>());
		client.updateTopics({ addTopics: ['presence'] });
		expectTypeOf(client.topics).toEqualTypeOf<readonly ('chat' | 'count' | 'presence')[]>();
		// @ts-expect-error: on a topic the definition does not have
		client.on('nope', () => {});
		// @ts-expect-error: adding a topic the definition does not have
		client.updateTopics({ addTopics: ['nope'] });
		// @ts-expect-error: a handler's data is the topic's type
		client.on('count', (n: string) => n);
	});

	it('refuses initial topics the definition does not have', () => {
		// @ts-expect-error: a handler for a topic the definition does not have
		new SSEClient('/api/events', { definition: topics, topics: { nope: () => {} } });
		// @ts-expect-error: a name the definition does not have
		new SSEClient('/api/events', { definition: topics, topics: ['nope'] });
	});

	it('types the shared client from the definition', () => {
		const shared = getSSEContext(topics);
		expectTypeOf(shared).toEqualTypeOf<SSEClient<TopicsOf<typeof topics>>>();
		// @ts-expect-error: a topic the definition does not have
		shared.on('nope', () => {});
	});
});

describe('the generic style, with an interface', () => {
	it('types the hub', () => {
		const hub = createSSEHub<AppTopics>({ topics: ['chat', 'presence'] });
		void hub.publish('presence', { online: [] });
		// @ts-expect-error: wrong data
		void hub.publish('presence', { online: 1 });
		// @ts-expect-error: a name the map does not have
		createSSEHub<AppTopics>({ topics: ['chat', 'nope'] });
		// The definition of the same map fits the generic hub.
		createSSEHub<AppTopics>({ topics: defineTopics<AppTopics>({ chat, presence: null }) });
	});

	it('types the client and the context', () => {
		const client = new SSEClient<AppTopics>('/api/events', {
			topics: { presence: (p) => expectTypeOf(p).toEqualTypeOf<Presence>() },
		});
		expectTypeOf(setSSEContext(client)).toEqualTypeOf<SSEClient<AppTopics>>();
		expectTypeOf(getSSEContext<AppTopics>()).toEqualTypeOf<SSEClient<AppTopics>>();
		// @ts-expect-error: a topic the map does not have
		client.updateTopics({ removeTopics: ['nope'] });
	});

	it('types produceSSE and createEmitWithHistory', () => {
		produceSSE<AppTopics>((emit) => {
			emit({ event: 'chat', data: { user: 'a', text: 'b' } });
			// @ts-expect-error: data of another topic
			emit({ event: 'chat', data: { online: [] } });
			const stored = createEmitWithHistory<AppTopics>(emit, memoryHistory());
			void stored('presence', { online: [] });
			// @ts-expect-error: a topic the map does not have
			void stored('nope', {});
		});
	});
});

describe('an untyped client', () => {
	it('takes any topic, from a list of names or none', () => {
		const named = new SSEClient('/api/events', { topics: ['x'] });
		expectTypeOf(named).toEqualTypeOf<SSEClient<TopicMap>>();
		named.on('y', (data) => expectTypeOf(data).toEqualTypeOf<unknown>());
		const bare = new SSEClient('/api/events');
		bare.updateTopics({ addTopics: ['anything'] });
		expectTypeOf(getSSEContext()).toEqualTypeOf<SSEClient<TopicMap>>();
	});
});
