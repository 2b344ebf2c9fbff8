// The README's "Add it to your app" files, tested as a new user would use them: a fresh SvelteKit
// app made of exactly those blocks (nothing from the demo), the packed package installed in it,
// `svelte-check` with no errors or warnings, an adapter-node build, and Chromium against
// `node build`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBrowser } from '../helpers/browser.js';
import { type BuiltApp, startBuiltApp } from '../helpers/built-app.js';
import {
	createFreshApp,
	type FreshApp,
	type RunResult,
	readmeAppFiles,
	runIn,
} from '../helpers/fresh-app.js';

/** What the issue asks the README to show, at the least. */
const REQUIRED = [
	'src/lib/topics.ts',
	'src/lib/server/events.ts',
	'src/hooks.server.ts',
	'src/app.d.ts',
	'src/routes/api/events/+server.ts',
	'src/routes/+page.server.ts',
	'src/routes/+layout.svelte',
	'src/routes/+page.svelte',
	'src/lib/Chat.svelte',
];

const browser = useBrowser();
let app: FreshApp;
let server: BuiltApp;
let check: RunResult;

beforeAll(async () => {
	app = await createFreshApp(readmeAppFiles());
	runIn(app.dir, 'svelte-kit', ['sync']);
	check = runIn(app.dir, 'svelte-check', ['--tsconfig', './tsconfig.json', '--fail-on-warnings']);
	const build = runIn(app.dir, 'vite', ['build']);
	if (build.status !== 0) throw new Error(`vite build failed:\n${build.output}`);
	server = await startBuiltApp({ appDir: app.dir, readyTimeoutMs: 15_000 });
}, 300_000);

afterAll(async () => {
	await server?.stop();
	// KEEP_FRESH_APP=1 leaves the app in place, to look into a failure.
	if (process.env.KEEP_FRESH_APP) console.log(`fresh app kept in ${app?.dir}`);
	else app?.remove();
});

describe('the README, pasted into a fresh app', () => {
	it('shows every file the app needs', () => {
		const paths = readmeAppFiles().map((file) => file.path);
		expect(paths).toEqual(expect.arrayContaining(REQUIRED));
	});

	it('type-checks with no errors and no warnings', () => {
		expect(check.output).toMatch(/svelte-check found 0 errors and 0 warnings/);
		expect(check.status, check.output).toBe(0);
	});

	it('renders the recent chat on the server, then brings each new message once', async () => {
		// The form action as `use:enhance` calls it: Kit answers `{ type: 'success' | 'failure', … }`.
		const post = async (user: string, text: string) => {
			const response = await fetch(server.url, {
				method: 'POST',
				headers: { origin: server.url, 'x-sveltekit-action': 'true' },
				body: new URLSearchParams({ user, text }),
			});
			return ((await response.json()) as { type: string }).type;
		};
		for (const text of ['first', 'second']) expect(await post('bob', text)).toBe('success');
		const html = await (await fetch(server.url)).text();
		expect(html).toContain('bob: first');
		expect(html).toContain('bob: second');

		const reader = await browser.newPage();
		await reader.goto(server.url);
		await reader.locator('[data-status="connected"]').waitFor();
		expect(await post('bob', 'third')).toBe('success');
		await reader.getByText('bob: third').waitFor();
		expect(await reader.locator('li').allTextContents()).toEqual([
			'bob: first',
			'bob: second',
			'bob: third',
		]);
	});

	it('delivers a message sent through the form action once, and shows why a bad one was refused', async () => {
		const sender = await browser.newPage();
		const reader = await browser.newPage();
		for (const page of [sender, reader]) {
			await page.goto(server.url);
			await page.locator('[data-status="connected"]').waitFor();
		}
		const before = await reader.locator('li').count();
		await sender.getByLabel('Message').fill('hello from the action');
		await sender.getByRole('button', { name: 'Send' }).click();
		for (const page of [reader, sender]) {
			await page.getByText('ann: hello from the action').waitFor();
			expect(await page.getByText('ann: hello from the action').count()).toBe(1);
		}

		await sender.getByLabel('Message').fill('');
		await sender.getByRole('button', { name: 'Send' }).click();
		await sender.getByRole('alert').first().waitFor();
		expect(await reader.locator('li').count()).toBe(before + 1);
		expect(await sender.locator('li').count()).toBe(before + 1);
	});
});
