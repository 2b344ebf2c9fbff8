// A browser's own EventSource refused (issue 13): it cannot read a failed response's status or
// headers, so SSEClient asks the endpoint with a HEAD. Real Chromium on the demo (`node build`);
// the refusals are made by intercepting /api/events, GET and HEAD alike, as a hub would answer.
import type { Page, Route } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { useBrowser } from '../helpers/browser.js';
import { type BuiltApp, startBuiltApp } from '../helpers/built-app.js';
import { DemoPage, WAIT_MS } from './demo-page.js';

const browser = useBrowser({ viewport: { width: 1000, height: 800 }, reducedMotion: 'reduce' });
let app: BuiltApp | undefined;

afterEach(async () => {
	await app?.stop();
	app = undefined;
});

/** Every request for the event stream the page makes, as it came: its method and when. */
interface Attempt {
	method: string;
	at: number;
}

/** Answers the page's stream requests with `answer` (or lets them through when it returns null). */
async function refuseStreams(
	page: Page,
	answer: (
		attempt: Attempt,
		index: number,
	) => { status: number; headers?: Record<string, string> } | null,
): Promise<Attempt[]> {
	const attempts: Attempt[] = [];
	await page.route(/\/api\/events\?/, async (route: Route) => {
		const attempt = { method: route.request().method(), at: performance.now() };
		attempts.push(attempt);
		const refusal = answer(attempt, attempts.length - 1);
		if (!refusal) return route.continue();
		return route.fulfill({
			status: refusal.status,
			headers: { 'content-type': 'application/json', ...refusal.headers },
			body: attempt.method === 'HEAD' ? '' : JSON.stringify({ error: { code: 'refused' } }),
		});
	});
	return attempts;
}

describe("a browser's own EventSource, refused", () => {
	it('stops on a 400 with code bad_request, which it learns with a HEAD', async () => {
		app = await startBuiltApp({ readyTimeoutMs: 15_000 });
		const page = await browser.newPage();
		const attempts = await refuseStreams(page, () => ({ status: 400 }));
		await page.goto(app.url);
		const demo = new DemoPage(page);
		await demo.waitForStatus('error');
		await expect
			.poll(() => page.locator('.toolbar-error').textContent(), { timeout: WAIT_MS })
			.toContain('HTTP 400');
		expect(attempts.map((a) => a.method)).toEqual(['GET', 'HEAD']);
	});

	it('waits at least the Retry-After of a 429 before it tries again, then connects', async () => {
		app = await startBuiltApp({ readyTimeoutMs: 15_000 });
		const page = await browser.newPage();
		let refusals = 0;
		const attempts = await refuseStreams(page, (attempt) => {
			if (attempt.method === 'HEAD') return { status: 429, headers: { 'Retry-After': '2' } };
			return refusals++ < 1 ? { status: 429, headers: { 'Retry-After': '2' } } : null;
		});
		await page.goto(app.url);
		const demo = new DemoPage(page);
		await demo.waitForStatus('connected');
		const methods = attempts.map((a) => a.method);
		expect(methods.slice(0, 3)).toEqual(['GET', 'HEAD', 'GET']);
		const [, head, retry] = attempts as [Attempt, Attempt, Attempt];
		expect(retry.at - head.at, 'ms from the HEAD to the next try').toBeGreaterThanOrEqual(2000);
	});
});
