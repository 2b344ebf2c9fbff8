/**
 * The hub's protocol as a browser's own `EventSource` sees it, without SSEClient: a real
 * Chromium on a page served by the same test server as the hub.
 */
import type { RequestHandler } from '@sveltejs/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { createSSEHub, type SSEHub } from '../../src/lib/server/index.js';
import { useBrowser } from '../helpers/browser.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';

type Topics = { news: { n: number } };

const browser = useBrowser();
let server: TestServer | undefined;
let hub: SSEHub<Topics> | undefined;

afterEach(async () => {
	await hub?.close();
	await server?.close();
	hub = server = undefined;
});

/** The hub at /events, and an empty page at / (so the EventSource is same-origin). */
async function start(): Promise<{ hub: SSEHub<Topics>; origin: string }> {
	const created = createSSEHub<Topics>({
		topics: ['news'],
		// No history, neither for a client with no position nor for a topic the hub counts as new
		// to a resuming one: what this test reads is the position, not a replay.
		initialHistory: 'none',
		newTopicHistory: 'none',
		closeOnSignals: false,
		limits: { retryMs: 300 },
	});
	const stream = created.handler();
	const handler: RequestHandler = (event) =>
		event.url.pathname === '/events'
			? stream(event)
			: new Response('<!doctype html><title>raw</title>', {
					headers: { 'content-type': 'text/html' },
				});
	hub = created;
	server = await serveHandler(handler);
	return { hub: created, origin: server.origin };
}

describe("a browser's own EventSource", () => {
	it('resumes from the position the stream stated, though no event had reached it', async () => {
		const { hub, origin } = await start();
		await hub.publish('news', { n: 0 }); // history that no client here gets
		const page = await browser.newPage();
		await page.goto(`${origin}/`);
		await page.evaluate(() => {
			const source = new EventSource('/events?topics=news');
			const state = { ready: 0, news: [] as number[], errors: 0 };
			Object.assign(window, { source, state });
			source.addEventListener('sse:ready', () => state.ready++);
			source.addEventListener('error', () => state.errors++);
			source.addEventListener('news', (event) => state.news.push(JSON.parse(event.data).n));
		});
		type State = { ready: number; news: number[]; errors: number };
		const state = () => page.evaluate(() => (window as unknown as { state: State }).state);
		await expect.poll(async () => (await state()).ready, { timeout: 10_000 }).toBe(1);

		const [cookie] = await page.context().cookies();
		expect(hub.disconnect(cookie?.value as string)).toBe(1);
		await expect.poll(async () => (await state()).errors, { timeout: 10_000 }).toBe(1);
		await hub.publish('news', { n: 1 }); // while the browser waits to reconnect
		await expect.poll(async () => (await state()).ready, { timeout: 10_000 }).toBe(2);
		await hub.publish('news', { n: 2 });
		await expect.poll(async () => (await state()).news, { timeout: 10_000 }).toEqual([1, 2]);
	});
});
