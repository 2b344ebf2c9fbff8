// A hub made from a topics definition, over real HTTP with the `eventsource` client: it serves the
// defined topics only, and `publish` checks data with the definition's schemas, so what fails is
// neither stored nor sent to anyone.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopics, type TopicsOf } from '../../src/lib/index.js';
import { SSEValidationError } from '../../src/lib/server/index.js';
import { hubFixture } from '../helpers/hub-fixture.js';
import { dataEvents } from '../helpers/sse-client.js';

const topics = defineTopics({
	chat: z.object({ user: z.string(), text: z.string().min(1).max(200) }),
	presence: null,
});
const fixture = hubFixture<TopicsOf<typeof topics>>(topics.names);

describe('a hub from a topics definition', () => {
	it('refuses data that fails its schema: nothing stored, nothing sent', async () => {
		const { hub, origin } = await fixture.start({ topics });
		const client = fixture.open(`${origin}/?topics=chat`);
		await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'sse:ready');

		const refused = hub.publish('chat', { user: 'ann', text: '' });
		await expect(refused).rejects.toBeInstanceOf(SSEValidationError);
		await expect(refused).rejects.toMatchObject({
			code: 'invalid_data',
			status: 400,
			issues: [expect.objectContaining({ path: ['text'] })],
		});
		expect((await hub.stats()).head).toBe(0);

		const id = await hub.publish('chat', { user: 'ann', text: 'hello' });
		await client.until((r) => dataEvents(r).length > 0, 'the valid event');
		expect(dataEvents(client.received)).toEqual([
			{ type: 'chat', id, data: { user: 'ann', text: 'hello' } },
		]);
		expect((await hub.stats()).events).toBe(1);
	});

	it('serves the defined topics only', async () => {
		const { hub, origin } = await fixture.start({ topics });
		const response = await fetch(`${origin}/?topics=chat&topics=weather`);
		expect(response.status).toBe(400);
		expect(await response.json()).toMatchObject({
			error: { code: 'unknown_topic', topics: ['weather'] },
		});
		// @ts-expect-error: not in the definition, which the types catch too
		await expect(hub.publish('weather', 1)).rejects.toMatchObject({ code: 'unknown_topic' });
	});

	it('checks a topic defined without a schema with a server-only one from `schemas`', async () => {
		const { hub } = await fixture.start({
			topics,
			schemas: { presence: z.object({ online: z.array(z.string()) }) },
		});
		await expect(hub.publish('presence', { online: 'ann' })).rejects.toBeInstanceOf(
			SSEValidationError,
		);
		await expect(hub.publish('presence', { online: ['ann'] })).resolves.toMatch(/-1$/);
	});
});
