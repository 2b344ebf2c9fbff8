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

	it('delivers a message sent through the form action once, to every visitor', async () => {
		const sender = await browser.newPage();
		const reader = await browser.newPage();
		for (const page of [sender, reader]) {
			await page.goto(server.url);
			await page.locator('[data-status="connected"]').waitFor();
		}
		await sender.getByLabel('Message').fill('hello from the action');
		await sender.getByRole('button', { name: 'Send' }).click();
		for (const page of [reader, sender]) {
			await page.getByText('anonymous: hello from the action').waitFor();
			expect(await page.getByText('anonymous: hello from the action').count()).toBe(1);
		}
	});
});
