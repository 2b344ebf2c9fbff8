// One topics definition on both sides, over real HTTP with the `eventsource` package as the
// client's EventSource: the hub checks what is published with its schemas, and a client with
// `validate` checks what it receives with the same ones (here from a hub that checks nothing,
// as an older server would), so a bad event reaches `onError` and never a handler.
import { EventSource } from 'eventsource';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
	defineTopics,
	SSEClient,
	type SSEClientError,
	type TopicsOf,
} from '../../src/lib/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { cookieFetch } from '../helpers/sse-client.js';
import { waiter } from '../helpers/waiter.js';

const topics = defineTopics({
	chat: z.object({ user: z.string(), text: z.string().min(1) }),
	presence: null,
});
type Topics = TopicsOf<typeof topics>;

const fixture = hubFixture<Topics>(topics.names);

describe('one topics definition for the hub and SSEClient', () => {
	it('the client typed by it gets what the hub published, and none of what it refused', async () => {
		const { hub, origin } = await fixture.start({ topics });
		const wait = waiter();
		const lines: string[] = [];
		const client = fixture.track(
			new SSEClient(`${origin}/events`, {
				definition: topics,
				EventSource,
				eventSourceInit: { fetch: cookieFetch() },
				topics: {
					chat: (message) => {
						lines.push(`${message.user}: ${message.text}`);
						wait.notify();
					},
					presence: wait.notify,
				},
			}),
		);
		await expect(hub.publish('chat', { user: 'ann', text: '' })).rejects.toMatchObject({
			code: 'invalid_data',
		});
		await hub.publish('chat', { user: 'ann', text: 'hello' });
		await hub.publish('presence', { online: 1 }); // no schema: anything that is JSON
		await wait.until('both events', () => client.topicCounters.presence === 1);
		expect(lines).toEqual(['ann: hello']);
	});

	it('validate: an event that fails its schema goes to onError, never to a handler', async () => {
		// The fixture's hub, from the names only: it checks nothing on publish, as an older server.
		const { hub, origin } = await fixture.start();
		const wait = waiter();
		const chats: unknown[] = [];
		const errors: SSEClientError[] = [];
		const client = fixture.track(
			new SSEClient(`${origin}/events`, {
				definition: topics,
				validate: true,
				EventSource,
				eventSourceInit: { fetch: cookieFetch() },
				topics: {
					chat: (message) => {
						chats.push(message);
						wait.notify();
					},
				},
				onError: (error) => {
					errors.push(error);
					wait.notify();
				},
			}),
		);
		const bad = await hub.publish('chat', { user: 'ann', text: '' });
		await hub.publish('chat', { user: 'ann', text: 'hello' });
		await wait.until('the valid event and the error', () => chats.length + errors.length === 2);
		expect(chats).toEqual([{ user: 'ann', text: 'hello' }]);
		expect(errors).toHaveLength(1);
		expect(errors[0]).toMatchObject({ code: 'schema', topic: 'chat' });
		expect(errors[0]?.message).toContain(`Event ${bad} of "chat" fails its schema`);
		expect(client.topicCounters.chat).toBe(1);
	});
});
