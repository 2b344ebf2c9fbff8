/**
 * The demo renders its story from `hub.snapshot` on the server, then its client starts the
 * stream from the snapshot's `lastEventId`: in a real Chromium against the production build, the
 * HTML already holds the conversation, no line appears twice once the page is live, and a line
 * published between the page load and the stream opening arrives once.
 *
 * Run alone: `npm run build && npx vitest run tests/e2e/demo-snapshot.test.ts`.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { useBrowser } from '../helpers/browser.js';
import { type BuiltApp, startBuiltApp } from '../helpers/built-app.js';
import { DemoPage, installProbe, WAIT_MS } from './demo-page.js';

const FAST_ENV = { DEMO_NOTIFY_MS: '250', DEMO_LOG_MS: '200', DEMO_STORY_LINE_MS: '150' };
const TEST_MS = 60_000;

const browser = useBrowser({ viewport: { width: 1280, height: 900 } });
const servers: BuiltApp[] = [];

afterEach(async () => {
	await Promise.all(servers.splice(0).map((app) => app.stop()));
});

/** The `data-event-id`s of the story panel in server-rendered HTML, in order. */
function storyIdsIn(html: string): string[] {
	const panel = html.slice(html.indexOf('data-testid="panel-story"'));
	const list = panel.slice(0, panel.indexOf('</ol>'));
	return [...list.matchAll(/data-event-id="([^"]+)"/g)].map((match) => match[1] as string);
}

describe('the demo renders the story on the server, then goes live from there', () => {
	it(
		'SSR shows the conversation; a line published during the load arrives once; none twice',
		async () => {
			const app = await startBuiltApp({ env: FAST_ENV, readyTimeoutMs: 15_000 });
			servers.push(app);
			const context = await browser.newContext();
			await installProbe(context);
			const demo = new DemoPage(await context.newPage());
			await demo.open(app.url);
			const story = demo.panel('story');
			await expect
				.poll(() => story.textContent(), { timeout: WAIT_MS })
				.toContain('Where do you go?');
			const conversation = await demo.orderedIds('story');
			expect(conversation).toHaveLength(3);

			// The reload's stream waits until the reader's reply has been published: after the
			// page's snapshot, before the stream opens.
			let published = false;
			await demo.page.route('**/api/events?**', async (route) => {
				if (!published) {
					published = true;
					const reply = await context.request.post(`${app.url}/api/story`, {
						data: { reply: 'The lighthouse' },
					});
					expect(reply.ok()).toBe(true);
				}
				await route.continue();
			});
			const response = await demo.page.reload();
			const html = (await response?.text()) ?? '';
			expect(storyIdsIn(html), 'the story in the server-rendered HTML').toEqual(conversation);
			expect(html).toContain('Where do you go?');

			await demo.waitForStatus('connected');
			// The reply's echo, then the next scene to its question, each once (orderedIds refuses a
			// repeat).
			await expect
				.poll(() => story.textContent(), { timeout: WAIT_MS })
				.toContain('Do you read the log or watch the storm?');
			const live = await demo.orderedIds('story');
			expect(published).toBe(true);
			expect(live.slice(0, 3)).toEqual(conversation);
			expect(live).toHaveLength(7);
			const echoes = await story.locator('.bubble-reader').allTextContents();
			expect(echoes.filter((text) => text.includes('The lighthouse'))).toHaveLength(1);
		},
		TEST_MS,
	);
});
