// A real Chromium for end-to-end tests, driven by `playwright-core` (no browser download: it
// uses Debian's `/usr/bin/chromium`, or the executable named by `CHROME_PATH`).
//
// ```ts
// const browser = useBrowser(); // in a test file: one Chromium for the file
// it('…', async () => {
//   const page = await browser.newPage({ colorScheme: 'dark' }); // a fresh context per call
//   await page.goto(app.url);
// });
// ```
//
// Chromium is launched in `beforeAll` and closed in `afterAll`; every context a test opens is
// closed in `afterEach`, whether the test passed or not. An uncaught exception in a page fails
// the test that opened it (see `pageErrors`).
import { existsSync } from 'node:fs';
import {
	type Browser,
	type BrowserContext,
	type BrowserContextOptions,
	chromium,
	type Page,
} from 'playwright-core';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

/** Where Chromium is: `CHROME_PATH`, else Debian's package. */
export function chromePath(): string {
	return process.env.CHROME_PATH || '/usr/bin/chromium';
}

/** Flags for a quiet, headless Chromium in a container (no sandbox, no GPU, no phoning home). */
export const CHROMIUM_ARGS = [
	'--headless',
	'--no-sandbox',
	'--disable-gpu',
	'--disable-background-networking',
	'--disable-component-update',
	'--disable-sync',
	'--no-first-run',
	'--disable-quic',
];

export interface LaunchOptions {
	/**
	 * Let pages into the back/forward cache. Playwright launches Chromium with
	 * `--disable-back-forward-cache` (so `goBack()` always loads the page afresh); a test of what
	 * a page does when the cache restores it needs it gone. Such a test should still check that
	 * the page really was restored (`pageshow` with `persisted`), or it proves nothing.
	 * @default false
	 */
	backForwardCache?: boolean;
}

/** Launches Chromium, or fails with a message that says how to point the tests at one. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
	const executablePath = chromePath();
	if (!existsSync(executablePath)) {
		throw new Error(
			`No Chromium at ${executablePath}. Install it (Debian: \`apt-get install chromium\`) or set ` +
				'CHROME_PATH to a Chrome/Chromium executable. (`npx playwright install` is not used here.)',
		);
	}
	try {
		return await chromium.launch({
			executablePath,
			args: CHROMIUM_ARGS,
			timeout: 30_000,
			...(options.backForwardCache && { ignoreDefaultArgs: ['--disable-back-forward-cache'] }),
		});
	} catch (error) {
		throw new Error(
			`Chromium at ${executablePath} did not start (set CHROME_PATH to another executable): ${(error as Error).message}`,
			{ cause: error },
		);
	}
}

export interface TestBrowser {
	/** The file's Chromium (only inside tests and hooks: it is launched in `beforeAll`). */
	readonly browser: Browser;
	/** A fresh context (its own cookies: a new session), closed after the test. */
	newContext(options?: BrowserContextOptions): Promise<BrowserContext>;
	/** A page in a fresh context. */
	newPage(options?: BrowserContextOptions): Promise<Page>;
	/** Uncaught exceptions in pages opened during the current test. */
	readonly pageErrors: readonly string[];
}

/** Registers the hooks that launch one Chromium for the file and clean up after each test. */
export function useBrowser(
	defaults: BrowserContextOptions = {},
	launch: LaunchOptions = {},
): TestBrowser {
	let browser: Browser | undefined;
	const contexts = new Set<BrowserContext>();
	const pageErrors: string[] = [];

	beforeAll(async () => {
		browser = await launchChromium(launch);
	});

	afterEach(async () => {
		const open = [...contexts];
		contexts.clear();
		// A context that hangs while closing must not keep the others (or the suite) open.
		await Promise.allSettled(
			open.map((context) =>
				Promise.race([context.close(), new Promise((resolve) => setTimeout(resolve, 10_000))]),
			),
		);
		const errors = pageErrors.splice(0);
		expect(errors, 'uncaught exceptions in the page').toEqual([]);
	});

	afterAll(async () => {
		await browser?.close();
		browser = undefined;
	});

	const handle: TestBrowser = {
		get browser() {
			if (!browser) throw new Error('Chromium is not running: use the browser inside a test.');
			return browser;
		},
		get pageErrors() {
			return pageErrors;
		},
		async newContext(options = {}) {
			const context = await handle.browser.newContext({ ...defaults, ...options });
			contexts.add(context);
			context.setDefaultTimeout(15_000);
			context.setDefaultNavigationTimeout(15_000);
			context.on('page', (page) => {
				page.on('pageerror', (error) => pageErrors.push(`${page.url()}: ${error.message}`));
			});
			return context;
		},
		async newPage(options = {}) {
			const context = await handle.newContext(options);
			return context.newPage();
		},
	};
	return handle;
}
