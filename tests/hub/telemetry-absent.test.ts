// An app without `@opentelemetry/api` (an optional peer dependency): the module cannot be loaded,
// and the hub streams, publishes and counts as it does with it.
import { describe, expect, it, vi } from 'vitest';
import { hubFixture } from '../helpers/hub-fixture.js';
import { dataEvents } from '../helpers/sse-client.js';

vi.mock('@opentelemetry/api', () => {
	throw new Error("Cannot find package '@opentelemetry/api'");
});

type Topics = { chat: { text: string } };
const fixture = hubFixture<Topics>(['chat']);

describe('without @opentelemetry/api', () => {
	it('the module cannot be imported here', async () => {
		const specifier = '@opentelemetry/api';
		await expect(import(/* @vite-ignore */ specifier)).rejects.toThrow();
	});

	it('the hub streams, publishes, refuses and counts as usual', async () => {
		const { hub, origin } = await fixture.start();
		await hub.publish('chat', { text: 'before' });
		const client = fixture.open(`${origin}/?topics=chat`);
		await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'sse:ready');
		await hub.publish('chat', { text: 'live' });
		await client.until(
			(r) => dataEvents(r).some((e) => (e.data as { text: string }).text === 'live'),
			'the live event',
		);
		expect((await fetch(`${origin}/?topics=weather`)).status).toBe(400);
		expect(await hub.stats()).toMatchObject({
			connections: 1,
			published: 2,
			delivered: dataEvents(client.received).length,
			refused: { unknown_topic: 1 },
		});
	});
});
