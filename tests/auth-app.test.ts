/**
 * The README's auth example (tests/fixtures/auth-app) built with adapter-node and served by
 * `node build`: `locals.user` from the app's own handle decides the session and the topics, an
 * anonymous visitor gets 401, a bad POST is a 400 with the schema's issues, a form action gets
 * `fail(400, { issues })` that the page shows, and `hub.sessionOf()` in the action (no event)
 * names the caller's session. The README shows these files as they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBrowser } from './helpers/browser.js';
import { type BuiltApp, buildApp, repoRoot, startBuiltApp } from './helpers/built-app.js';
import { dataEvents, openClient, type TestClient } from './helpers/sse-client.js';

const appDir = join(repoRoot, 'tests/fixtures/auth-app');
const browser = useBrowser();
let app: BuiltApp;
const clients: TestClient[] = [];

beforeAll(async () => {
	await buildApp(appDir);
	app = await startBuiltApp({ appDir });
}, 300_000);

afterAll(async () => {
	for (const client of clients) client.close();
	await app?.stop();
});

/** A request as a signed-in user's browser sends it (same origin, so Kit's CSRF check passes). */
function as(user: string | undefined, init: RequestInit = {}): RequestInit {
	const headers = new Headers(init.headers);
	headers.set('origin', app.url);
	if (user) headers.set('cookie', `user=${user}`);
	return { ...init, headers };
}

describe('the auth example', () => {
	it('gives an anonymous visitor 401 on any stream, and no session cookie', async () => {
		const response = await fetch(`${app.url}/api/events?topics=chat`, as(undefined));
		expect(response.status).toBe(401);
		expect(await response.json()).toEqual({
			error: { code: 'unauthorized', message: expect.any(String) },
		});
		expect(response.headers.getSetCookie()).toEqual([]);
	});

	it('streams a signed-in user as itself; `audit` is 403 for a non-admin and open to the admin', async () => {
		const bob = await fetch(`${app.url}/api/events?topics=chat&topics=audit`, as('bob'));
		expect(bob.status).toBe(403);
		expect(await bob.json()).toMatchObject({
			error: { code: 'forbidden', topics: ['chat', 'audit'] },
		});

		const admin = await fetch(`${app.url}/api/events?topics=audit`, as('admin'));
		expect(admin.status).toBe(200);
		expect(admin.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
		await admin.body?.cancel();
	});

	it('answers a POST with bad data with 400 and the issues, and publishes nothing', async () => {
		const client = openClient(
			`${app.url}/api/events?topics=chat`,
			['chat'],
			new Map([['user', 'carol']]),
		);
		clients.push(client);
		await client.until((r) => r.some((e) => e.type === 'sse:ready'), 'the stream to be live');

		const post = (text: string) =>
			fetch(
				`${app.url}/api/chat`,
				as('carol', {
					method: 'POST',
					headers: { 'content-type': 'application/json', accept: 'application/json' },
					body: JSON.stringify({ text }),
				}),
			);
		const bad = await post('   ');
		expect(bad.status).toBe(400);
		expect(await bad.json()).toEqual({
			code: 'invalid_data',
			message: expect.stringContaining('fails its schema'),
			topic: 'chat',
			issues: [{ message: expect.any(String), path: ['text'] }],
		});

		const good = await post('after the bad one');
		expect(good.status).toBe(200);
		const { id } = (await good.json()) as { id: string };
		await client.until((r) => r.some((e) => e.id === id), 'the good message');
		// In order, so had the bad one been published it would have come first.
		expect(dataEvents(client.received, 'chat').map((e) => e.data)).toEqual([
			{ user: 'carol', text: 'after the bad one' },
		]);
	});

	it('answers a form action with bad data with fail(400, { issues }), not a 500', async () => {
		const response = await fetch(
			`${app.url}/?/send`,
			as('dave', {
				method: 'POST',
				headers: { accept: 'application/json', 'x-sveltekit-action': 'true' },
				body: new URLSearchParams({ text: ' ' }),
			}),
		);
		expect(response.status).toBe(200); // an action's answer to `use:enhance`; the failure is inside
		const body = (await response.json()) as { type: string; status: number; data: string };
		expect(body).toMatchObject({ type: 'failure', status: 400 });
		// `data` is devalue's text of `{ code, message, issues, topic }`.
		for (const field of ['"issues"', '"invalid_data"', '"text"'])
			expect(body.data).toContain(field);
	});

	it('in Chromium: sign in, a bad message shows its issues, a good one arrives once with the notification to the sender', async () => {
		const page = await browser.newPage();
		await page.goto(app.url);
		await page.fill('input[name=name]', 'Erin');
		await page.click('text=Sign in');
		await page.waitForSelector('text=Signed in as erin');
		await page.waitForSelector('.status:text("connected")');

		await page.fill('input[name=text]', '   ');
		await page.click('text=Send');
		await page.waitForSelector('.issue');
		expect(await page.textContent('.issue')).toMatch(/^text: /);

		await page.fill('input[name=text]', 'hello');
		await page.click('text=Send');
		// `(Sent)` went to the session `hub.sessionOf()` named in the action, with no event passed.
		await page.waitForSelector('.line:text("(Sent)")');
		await page.waitForSelector('.line:text("erin: hello")');
		// Once each (the chat's earlier lines may come first: a new client gets the topic's history).
		const lines = await page.locator('.line').allTextContents();
		expect(lines.filter((line) => line === 'erin: hello')).toHaveLength(1);
		expect(lines.filter((line) => line === '(Sent)')).toHaveLength(1);
		expect(lines.indexOf('erin: hello')).toBeLessThan(lines.indexOf('(Sent)'));
		expect(await page.locator('.issue').count()).toBe(0);
	});
});

describe('the README', () => {
	it('shows the example’s files as they are', () => {
		const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
		const start = readme.indexOf('#### Signed-in users');
		expect(start, 'README.md has a "#### Signed-in users" section').toBeGreaterThan(0);
		// "Signed-in users" and "Refusals in actions and endpoints" show them.
		const section = readme.slice(start, readme.indexOf('#### What a client gets', start));
		const blocks = [
			...section.matchAll(/^```ts\n(\/\/ (src\/[\w/.+\-[\]]+)[^\n]*\n[\s\S]*?)^```$/gm),
		];
		expect(blocks.map(([, , path]) => path)).toEqual([
			'src/app.d.ts',
			'src/lib/server/auth.ts',
			'src/lib/topics.ts',
			'src/lib/server/events.ts',
			'src/hooks.server.ts',
			'src/routes/+page.server.ts',
			'src/routes/api/chat/+server.ts',
		]);
		for (const [, text, path = ''] of blocks) {
			expect(text, path).toBe(readFileSync(join(appDir, path), 'utf8'));
		}
	});
});
