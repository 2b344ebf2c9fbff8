/**
 * One stream per browser, not per tab (issue 13), as a user of the demo would notice it: real
 * Chromium tabs of one browser context against the production build (`node build`, plain
 * HTTP/1.1, where Chromium opens at most 6 connections per origin). `GET /api/stats` counts the
 * streams the server holds; a raw SSE subscriber in the test process is the reference for what
 * it published (it holds one stream of its own, counted too).
 *
 * Chromium runs with the back/forward cache on (Playwright turns it off by default), so the
 * lifecycle tests can check that a page really came back from it.
 *
 * Run alone: `npx vite build && npx vitest run tests/e2e/shared-connection.test.ts`.
 */
import type { BrowserContext, Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { useBrowser } from '../helpers/browser.js';
import { type BuiltApp, startBuiltApp } from '../helpers/built-app.js';
import { openClient, type TestClient } from '../helpers/sse-client.js';
import { DemoPage, expectSameSequence, installProbe, parseId, WAIT_MS } from './demo-page.js';

/** The demo's timers at test speed (see src/demo/server/config.server.ts). */
const FAST_ENV = {
	DEMO_NOTIFY_MS: '300',
	DEMO_LOG_MS: '200',
	DEMO_STORY_LINE_MS: '150',
	// Every tab that joins gets each topic's history, replayed through every tab: keep it short.
	SSE_HISTORY_MAX_LENGTH: '300',
	SSE_HISTORY_MAX_AGE_MS: '600000',
};

const TEST_MS = 90_000;

// No animations: eight tabs rendering every arrival would compete for two cores.
const browser = useBrowser(
	{ viewport: { width: 1000, height: 800 }, reducedMotion: 'reduce' },
	{ backForwardCache: true },
);

const servers: BuiltApp[] = [];
const subscribers: TestClient[] = [];

afterEach(async () => {
	for (const client of subscribers.splice(0)) client.close();
	await Promise.all(servers.splice(0).map((app) => app.stop()));
});

async function startServer(env: Record<string, string> = {}): Promise<BuiltApp> {
	const app = await startBuiltApp({ env: { ...FAST_ENV, ...env }, readyTimeoutMs: 15_000 });
	servers.push(app);
	return app;
}

type Feed = 'logs' | 'notifications';

/** A raw subscriber to the feeds, opened before any tab: the reference for the server's ids. */
async function rawSubscriber(app: BuiltApp): Promise<TestClient> {
	const client = openClient(`${app.url}/api/events?topics=logs&topics=notifications`, [
		'logs',
		'notifications',
	]);
	subscribers.push(client);
	await client.until((received) => received.some((e) => e.type === 'sse:ready'), 'raw ready');
	return client;
}

function rawIds(client: TestClient, topic: Feed): string[] {
	return client.received.filter((event) => event.type === topic).map((event) => event.id);
}

/** Waits until the raw subscriber has `count` more events of `topic` than now. */
async function published(raw: TestClient, topic: Feed, count: number): Promise<void> {
	const from = rawIds(raw, topic).length;
	await raw.until(
		(received) => received.filter((e) => e.type === topic).length >= from + count,
		`${count} more ${topic} published`,
		WAIT_MS,
	);
}

/** The event streams the server holds open now. */
async function openStreams(app: BuiltApp): Promise<number> {
	const response = await fetch(`${app.url}/api/stats`);
	const stats = (await response.json()) as { connections: number };
	return stats.connections;
}

async function expectStreams(app: BuiltApp, count: number, what: string): Promise<void> {
	await expect
		.poll(() => openStreams(app), { timeout: WAIT_MS, message: `${what}: open streams` })
		.toBe(count);
}

/** A context (one browser, one session) with the demo's probe in every page. */
async function newBrowserContext(
	...initScripts: Array<() => void>
): Promise<{ context: BrowserContext }> {
	const context = await browser.newContext();
	for (const script of initScripts) await context.addInitScript(script);
	await installProbe(context);
	return { context };
}

/** Before the page's scripts: the Web Locks API is gone, as in an insecure context. */
function withoutWebLocks(): void {
	delete (Navigator.prototype as { locks?: unknown }).locks;
}

/** Before the page's scripts: every `pageshow`'s `persisted` (true: restored from the bfcache). */
function recordPageShows(): void {
	const shows: boolean[] = [];
	(window as unknown as { __pageshows: boolean[] }).__pageshows = shows;
	window.addEventListener('pageshow', (event) => shows.push(event.persisted));
}

/** Opens a tab, checks it got its HTML, and waits until it is connected. */
async function openTab(context: BrowserContext, url: string): Promise<DemoPage> {
	const page = await context.newPage();
	const response = await page.goto(url);
	expect(response?.status(), `${url}: the HTML page`).toBe(200);
	const tab = new DemoPage(page);
	await tab.waitForStatus('connected');
	return tab;
}

/** Opens `count` tabs one after the other (each connected before the next opens). */
async function openTabs(context: BrowserContext, url: string, count: number): Promise<DemoPage[]> {
	const tabs: DemoPage[] = [];
	for (let i = 0; i < count; i++) tabs.push(await openTab(context, url));
	return tabs;
}

/** The toolbar's "Tabs" line: `8 share one stream · this tab holds it`, `a stream of its own`. */
async function sharing(tab: DemoPage): Promise<string> {
	const text = await tab.page.getByTestId('sharing').textContent({ timeout: WAIT_MS });
	return (text ?? '')
		.replace(/\s+/g, ' ')
		.replace(/^\s*Tabs\s*/, '')
		.trim();
}

/**
 * Waits until every tab says the `tabs.length` of them share one stream and exactly one of them
 * holds it, all connected; returns that one.
 */
async function expectShared(tabs: DemoPage[], what: string): Promise<DemoPage> {
	const n = tabs.length;
	const shared = `${n} share one stream`;
	let seen: string[] = [];
	await expect
		.poll(
			async () => {
				seen = await Promise.all(
					tabs.map(async (tab) => `${await sharing(tab)} [${await tab.status.textContent()}]`),
				);
				const holders = seen.filter((s) => s === `${shared} · this tab holds it [connected]`);
				const others = seen.filter((s) => s === `${shared} · another tab holds it [connected]`);
				return holders.length === 1 && others.length === n - 1 ? 'shared' : seen;
			},
			{ timeout: WAIT_MS, message: `${what}: every tab says ${shared}, one holds it` },
		)
		.toBe('shared');
	const leader = tabs.find((_, i) => seen[i]?.includes('this tab holds it'));
	if (!leader) throw new Error('unreachable: the poll found a leader');
	return leader;
}

/** How many EventSources the page created (the probe records each). */
async function eventSources(tab: DemoPage): Promise<number> {
	return (await tab.records()).filter((record) => record.kind === 'connect').length;
}

/**
 * Every event of `topic` once, in order, with no hole: waits until the tab shows the newest id
 * the raw subscriber has now, then compares the tab's whole feed with the raw sequence (from the
 * raw subscriber's first event on; the tab may show older history). `spans`: a seq the feed
 * must start at or before (so the compared range covers a handover or a time away).
 */
async function expectEveryEvent(
	tab: DemoPage,
	topic: Feed,
	raw: TestClient,
	what: string,
	spans?: number,
): Promise<string[]> {
	const target = rawIds(raw, topic).at(-1);
	if (!target) throw new Error(`the raw subscriber has no ${topic} yet`);
	await expect
		.poll(async () => (await tab.ids(topic)).includes(target), {
			timeout: WAIT_MS,
			message: `${what}: the tab to show ${topic} ${target}`,
		})
		.toBe(true);
	const reference = rawIds(raw, topic);
	const firstRaw = parseId(reference[0] as string).seq;
	const lastRaw = parseId(target).seq;
	// From the raw subscriber's first event to `target` (the tab may be ahead of it by now).
	const shown = (await tab.orderedIds(topic)).filter((id) => {
		const { seq } = parseId(id);
		return seq >= firstRaw && seq <= lastRaw;
	});
	expectSameSequence(shown, reference, `${what} (${topic})`);
	if (spans !== undefined) {
		const from = parseId(shown[0] as string).seq;
		expect(from, `${what}: the ${topic} compared cover ${spans}`).toBeLessThanOrEqual(spans);
	}
	return shown;
}

/** The newest seq of `topic` a tab shows. */
async function newestSeq(tab: DemoPage, topic: Feed): Promise<number> {
	const ids = await tab.orderedIds(topic);
	return parseId(ids.at(-1) as string).seq;
}

/**
 * A feed's counter moved by exactly the number of entries that appeared since `before`: every
 * event was delivered once (a repeat would show as a second entry, or move the counter alone).
 */
async function expectCountedOnce(
	tab: DemoPage,
	topic: Feed,
	before: { ids: string[]; count: number },
	what: string,
): Promise<number> {
	const now = await tab.snapshot(topic);
	const added = now.ids.filter((id) => !before.ids.includes(id));
	expect(now.count - before.count, `${what}: count-${topic} moved by its new entries`).toBe(
		added.length,
	);
	return added.length;
}

/** Kills a tab's renderer: no pagehide, no 'leave' message; the browser frees its lock. */
async function crash(page: Page): Promise<void> {
	const crashed = new Promise<void>((resolve) => page.once('crash', () => resolve()));
	// Chromium handles this debug URL by killing the page's renderer process.
	await page.goto('chrome://crash', { timeout: WAIT_MS }).catch(() => {});
	await Promise.race([
		crashed,
		new Promise((_, reject) =>
			setTimeout(() => reject(new Error('the tab did not crash')), WAIT_MS),
		),
	]);
}

describe('tabs of one browser share one stream (node build, HTTP/1.1)', () => {
	it(
		'8 tabs all get their page and their events while the server holds one stream for them',
		async ({ annotate }) => {
			const app = await startServer();
			const raw = await rawSubscriber(app);
			await expectStreams(app, 1, 'the raw subscriber alone');
			const { context } = await newBrowserContext();

			const opening = performance.now();
			const tabs = await openTabs(context, app.url, 8);
			const opened = Math.round(performance.now() - opening);
			const leader = await expectShared(tabs, '8 tabs');
			await expectStreams(app, 2, '8 tabs and the raw subscriber');

			// Every tab receives events, and every one of them, in order.
			await published(raw, 'logs', 5);
			for (const [i, tab] of tabs.entries()) {
				await expectEveryEvent(tab, 'logs', raw, `tab ${i + 1}`);
				await expectEveryEvent(tab, 'notifications', raw, `tab ${i + 1}`);
			}
			// The session's own events (the story is told to this session only) reach every tab.
			await expect
				.poll(
					async () => {
						const stories = await Promise.all(tabs.map((tab) => tab.orderedIds('story')));
						const [first] = stories;
						const same = stories.every((ids) => ids.join() === first?.join());
						return same && (first?.length ?? 0) >= 3 ? 'same story' : stories.map((s) => s.length);
					},
					{ timeout: WAIT_MS, message: 'every tab shows the session’s story, the same lines' },
				)
				.toBe('same story');
			// Only the leader ever opened an EventSource; the server still holds one stream for them.
			for (const [i, tab] of tabs.entries()) {
				const sources = await eventSources(tab);
				if (tab === leader) expect(sources, `tab ${i + 1} (leader)`).toBeGreaterThan(0);
				else expect(sources, `tab ${i + 1}: EventSources of its own`).toBe(0);
			}
			expect(await openStreams(app)).toBe(2);
			await annotate(
				`8 tabs opened one after the other in ${opened} ms; the leader opened ${await eventSources(leader)} EventSources, one at a time (it reopens for each tab that joins)`,
			);
		},
		TEST_MS,
	);

	it(
		'without Web Locks each tab has a stream of its own, and tabs 7 and 8 of 8 never get their page (the limit sharing removes)',
		async () => {
			const app = await startServer();
			const raw = await rawSubscriber(app);
			const { context } = await newBrowserContext(withoutWebLocks);

			const tabs = await openTabs(context, app.url, 6);
			await expectStreams(app, 7, 'six tabs of their own and the raw subscriber');
			for (const [i, tab] of tabs.entries()) {
				expect(await sharing(tab), `tab ${i + 1}`).toBe('a stream of its own');
				expect(await eventSources(tab), `tab ${i + 1}: its own EventSource`).toBe(1);
			}
			await published(raw, 'logs', 3);
			for (const [i, tab] of tabs.entries()) {
				await expectEveryEvent(tab, 'logs', raw, `tab ${i + 1} alone`);
			}

			// Six connections per origin are all held by streams: the next two tabs get nothing.
			const starved = await Promise.all(
				[7, 8].map(async (n) => {
					const page = await context.newPage();
					const outcome = await page.goto(app.url, { waitUntil: 'commit', timeout: 4000 }).then(
						() => 'got its page',
						() => 'no page after 4 s',
					);
					return { n, page, outcome };
				}),
			);
			expect(starved.map((s) => s.outcome)).toEqual(['no page after 4 s', 'no page after 4 s']);
			expect(await openStreams(app)).toBe(7);

			// It is the limit: close two tabs, and the waiting tabs load and connect.
			await tabs[0]?.page.close();
			await tabs[1]?.page.close();
			for (const { n, page } of starved) {
				const tab = new DemoPage(page);
				await tab.waitForStatus('connected');
				expect(await sharing(tab), `tab ${n}`).toBe('a stream of its own');
			}
			await expectStreams(app, 7, 'six tabs of their own again');
		},
		TEST_MS,
	);

	it(
		'the leader closes, then the next leader crashes, while events come fast: every other tab has every event once, in order',
		async ({ annotate }) => {
			// A log line every 60 ms: several are published during each handover.
			const app = await startServer({ DEMO_LOG_MS: '60', DEMO_NOTIFY_MS: '90' });
			const raw = await rawSubscriber(app);
			const { context } = await newBrowserContext();
			let tabs = await openTabs(context, app.url, 4);
			const first = await expectShared(tabs, '4 tabs');
			await expectStreams(app, 2, '4 tabs');
			await published(raw, 'logs', 5);

			// A user closes the leader's tab (the page runs its pagehide: it says it leaves).
			const beforeClose = await newestSeq(tabs.find((t) => t !== first) as DemoPage, 'logs');
			const closing = performance.now();
			await first.page.close();
			tabs = tabs.filter((tab) => tab !== first);
			const second = await expectShared(tabs, 'after the leader closed');
			const afterClose = Math.round(performance.now() - closing);
			await expectStreams(app, 2, 'after the leader closed');
			await published(raw, 'logs', 10);
			for (const [i, tab] of tabs.entries()) {
				for (const topic of ['logs', 'notifications'] as const) {
					await expectEveryEvent(tab, topic, raw, `tab ${i + 1} across the close`, beforeClose);
				}
			}

			// The new leader's renderer dies: no pagehide, no goodbye; the browser frees its lock.
			const snapshots = await Promise.all(tabs.map((tab) => tab.snapshot('logs')));
			const beforeCrash = await newestSeq(tabs.find((t) => t !== second) as DemoPage, 'logs');
			const at = tabs.indexOf(second);
			const crashing = performance.now();
			await crash(second.page);
			tabs = tabs.filter((tab) => tab !== second);
			snapshots.splice(at, 1);
			await expectShared(tabs, 'after the leader crashed');
			const afterCrash = Math.round(performance.now() - crashing);
			await expectStreams(app, 2, 'after the leader crashed');
			await published(raw, 'logs', 10);
			for (const [i, tab] of tabs.entries()) {
				for (const topic of ['logs', 'notifications'] as const) {
					await expectEveryEvent(tab, topic, raw, `tab ${i + 1} across the crash`, beforeCrash);
				}
				await expectCountedOnce(
					tab,
					'logs',
					snapshots[i] as { ids: string[]; count: number },
					`tab ${i + 1}`,
				);
			}
			await annotate(
				`the other tabs connected under a new leader within ${afterClose} ms of the close, ${afterCrash} ms of the crash (polled)`,
			);
		},
		TEST_MS,
	);

	it(
		'a tab whose renderer crashes no longer counts among the tabs sharing the stream',
		async () => {
			const app = await startServer();
			const { context } = await newBrowserContext();
			let tabs = await openTabs(context, app.url, 3);
			const leader = await expectShared(tabs, '3 tabs');
			const follower = tabs.find((tab) => tab !== leader) as DemoPage;
			await crash(follower.page);
			tabs = tabs.filter((tab) => tab !== follower);
			await expectShared(tabs, 'after a follower crashed');
		},
		TEST_MS,
	);

	it(
		'a tab switches a feed off and on: it gets what it missed; the other tabs see nothing replayed',
		async () => {
			const app = await startServer();
			const raw = await rawSubscriber(app);
			const { context } = await newBrowserContext();
			const tabs = await openTabs(context, app.url, 3);
			const leader = await expectShared(tabs, '3 tabs');
			await published(raw, 'logs', 3);

			// Once through a follower (the leader reopens for it), once through the leader itself.
			const follower = tabs.find((tab) => tab !== leader) as DemoPage;
			for (const [name, tab] of [
				['a follower', follower],
				['the leader', leader],
			] as const) {
				const others = tabs.filter((t) => t !== tab);
				await tab.setSwitch('Logs', false);
				const atOff = await tab.snapshot('logs');
				const lastSeenOff = await newestSeq(tab, 'logs');
				const othersBefore = await Promise.all(others.map((t) => t.snapshot('logs')));
				await published(raw, 'logs', 5);
				// Off means off: nothing reached it meanwhile.
				expect((await tab.snapshot('logs')).count, `${name}: logs while off`).toBe(atOff.count);
				const missed = rawIds(raw, 'logs').filter((id) => parseId(id).seq > lastSeenOff);

				await tab.setSwitch('Logs', true);
				await expect
					.poll(
						async () => {
							const shown = await tab.ids('logs');
							return missed.filter((id) => !shown.includes(id));
						},
						{ timeout: WAIT_MS, message: `${name}: the logs published while off` },
					)
					.toEqual([]);
				await published(raw, 'logs', 3);
				await expectEveryEvent(tab, 'logs', raw, `${name} after logs off/on`, lastSeenOff);
				await expectCountedOnce(tab, 'logs', atOff, name);
				// The other tabs had the feed all along: only live events, each once.
				for (const [i, other] of others.entries()) {
					await expectEveryEvent(other, 'logs', raw, `${name}'s neighbour ${i + 1}`);
					const before = othersBefore[i] as { ids: string[]; count: number };
					await expectCountedOnce(other, 'logs', before, `${name}'s neighbour ${i + 1}`);
				}
			}
			await expectShared(tabs, 'after the switches');
			await expectStreams(app, 2, 'one stream still');
			// A reopen for one tab's sake (a join, a switch) is no reconnect for the others: no tab
			// showed a "Resumed" banner, which would count live events as replayed.
			const banners = await Promise.all(
				tabs.map(async (tab) => (await tab.records()).filter((r) => r.kind === 'banner').length),
			);
			expect(banners, '"Resumed" banners shown per tab').toEqual(tabs.map(() => 0));
		},
		TEST_MS,
	);

	it(
		'a tab opened with ?share=0 (share: false) has a stream of its own beside the shared one',
		async () => {
			const app = await startServer();
			const raw = await rawSubscriber(app);
			const { context } = await newBrowserContext();
			const shared = await openTabs(context, app.url, 2);
			const alone = await openTab(context, `${app.url}/?share=0`);
			await expectShared(shared, 'the two tabs that share');
			expect(await sharing(alone)).toBe('a stream of its own');
			expect(await eventSources(alone), 'its own EventSource').toBe(1);
			await expectStreams(app, 3, 'the shared stream, the share: false one and the raw one');
			await published(raw, 'logs', 3);
			for (const [name, tab] of [
				['share: false', alone],
				['shared 1', shared[0]],
				['shared 2', shared[1]],
			] as const) {
				await expectEveryEvent(tab as DemoPage, 'logs', raw, name);
			}
		},
		TEST_MS,
	);
});

describe('the back/forward cache', () => {
	/**
	 * Goes to another page of the same origin, runs `whileAway` there, and comes back; fails
	 * unless the page came back from the back/forward cache.
	 */
	/**
	 * Three tabs; the leader goes away (`away` runs `whileAway` in between): the two others share a
	 * stream meanwhile, the leader comes back as one of the three, and every tab has exactly the
	 * events it should, none twice.
	 */
	async function expectLeaderHandsOverAndRejoins(
		context: BrowserContext,
		away: (leader: DemoPage, app: BuiltApp, whileAway: () => Promise<void>) => Promise<void>,
	) {
		const app = await startServer();
		const raw = await rawSubscriber(app);
		const tabs = await openTabs(context, app.url, 3);
		const leader = await expectShared(tabs, '3 tabs');
		const others = tabs.filter((tab) => tab !== leader);
		await published(raw, 'logs', 3);
		const before = await Promise.all(tabs.map((tab) => tab.snapshot('logs')));
		const lastBefore = await newestSeq(leader, 'logs');

		await away(leader, app, async () => {
			// While it is away, the two others share a stream that one of them holds.
			await expectShared(others, 'while the leader is away');
			await expectStreams(app, 2, 'the leader is away');
			await published(raw, 'logs', 10);
		});
		await expectShared(tabs, 'the leader is back');
		expect(await sharing(leader), 'the tab that was away').toContain('another tab holds it');
		await expectStreams(app, 2, 'one shared stream again');
		await published(raw, 'logs', 3);
		for (const [i, tab] of tabs.entries()) {
			const name = tab === leader ? 'the leader, back' : `tab ${i + 1}`;
			for (const topic of ['logs', 'notifications'] as const) {
				await expectEveryEvent(tab, topic, raw, name, lastBefore);
			}
			await expectCountedOnce(tab, 'logs', before[i] as { ids: string[]; count: number }, name);
		}
	}

	async function awayAndBack(tab: DemoPage, app: BuiltApp, whileAway: () => Promise<void>) {
		const page = tab.page;
		const cdp = await page.context().newCDPSession(page);
		const notRestored: string[] = [];
		cdp.on('Page.backForwardCacheNotUsed', (event) =>
			notRestored.push(JSON.stringify(event.notRestoredExplanations)),
		);
		await cdp.send('Page.enable');
		await page.goto(`${app.url}/api/stats`);
		await whileAway();
		// A page restored from the cache fires no `load`: wait for the commit only.
		await page.goBack({ waitUntil: 'commit' });
		await expect
			.poll(
				() => page.evaluate(() => (window as unknown as { __pageshows?: boolean[] }).__pageshows),
				{ timeout: WAIT_MS, message: 'pageshow after going back' },
			)
			.toHaveLength(2);
		const shows = await page.evaluate(
			() => (window as unknown as { __pageshows: boolean[] }).__pageshows,
		);
		expect(shows, `restored from the back/forward cache (not restored: ${notRestored})`).toEqual([
			false,
			true,
		]);
		await cdp.detach();
	}

	it(
		'a tab alone, away and back: restored from the cache, it gets exactly the events it missed',
		async () => {
			const app = await startServer();
			const raw = await rawSubscriber(app);
			const { context } = await newBrowserContext(recordPageShows);
			const tab = await openTab(context, app.url);
			await published(raw, 'logs', 3);
			const before = await tab.snapshot('logs');
			const lastBefore = await newestSeq(tab, 'logs');

			await awayAndBack(tab, app, async () => {
				// While it is away the page holds no stream: only the raw one is open.
				await expectStreams(app, 1, 'the tab is away');
				await published(raw, 'logs', 10);
			});
			await tab.waitForStatus('connected');
			await published(raw, 'logs', 3);
			for (const topic of ['logs', 'notifications'] as const) {
				await expectEveryEvent(tab, topic, raw, 'back from the cache', lastBefore);
			}
			const added = await expectCountedOnce(tab, 'logs', before, 'back from the cache');
			expect(added, 'the log lines published while away, and the live ones after').toBeGreaterThan(
				10,
			);
		},
		TEST_MS,
	);

	it(
		'the leader, away and back: another tab takes over at once, and the leader comes back with exactly what it missed',
		async () => {
			const { context } = await newBrowserContext(recordPageShows);
			await expectLeaderHandsOverAndRejoins(context, (leader, app, whileAway) =>
				awayAndBack(leader, app, whileAway),
			);
		},
		TEST_MS,
	);
	it(
		'the leader frozen (its freeze event) gives up stream and lock; on resume it rejoins with exactly what it missed',
		async () => {
			// Chromium's CDP `Page.setWebLifecycleState` fires no `freeze` event in headless mode: the
			// page gets the events the browser would send, and the Web Locks and streams are real.
			const { context } = await newBrowserContext();
			await expectLeaderHandsOverAndRejoins(context, async (leader, _app, whileAway) => {
				await leader.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
				await whileAway();
				await leader.page.evaluate(() => document.dispatchEvent(new Event('resume')));
			});
		},
		TEST_MS,
	);
});
