/**
 * The demo page as the end-to-end tests see it: the test hooks agreed with the UI (data-testid,
 * accessible names, `data-event-id` on every feed entry), and a probe that records, inside the
 * page, what is too brief to poll for: each status the page showed, each replay banner and gap
 * notice, and the control events (`sse:ready`, `sse:gap`) each EventSource received. It also
 * keeps every request of the page that failed or answered ≥ 400.
 */
import type { BrowserContext, Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

/** How long any single wait in these tests may take. */
export const WAIT_MS = 15_000;

export type PanelName = 'story' | 'notifications' | 'logs' | 'broadcast';

export interface ProbeRecord {
	/** `performance.now()` in the page. */
	t: number;
	kind:
		| 'connect' // a new EventSource: detail is its URL
		| 'open'
		| 'error' // detail is the readyState after the error (0 = reconnecting, 2 = closed)
		| 'ready' // sse:ready: detail is its data
		| 'gap' // sse:gap: detail is its data
		| 'status' // the status the page shows
		| 'banner' // the replay banner became visible: detail is its text
		| 'gap-notice'; // the gap notice became visible: detail is its text
	detail: string;
	/** Which EventSource (1, 2, …) for connection records. */
	source?: number;
}

/**
 * Runs in the page before its own scripts. It wraps `EventSource` only to add listeners of its
 * own (the page's behaviour is unchanged), and watches the DOM for the test hooks.
 * Self-contained: Playwright sends its source text to the page.
 */
function probe(): void {
	const records: ProbeRecord[] = [];
	(window as unknown as { __e2e: { records: ProbeRecord[] } }).__e2e = { records };
	const push = (kind: ProbeRecord['kind'], detail: string, source?: number) => {
		records.push({ t: performance.now(), kind, detail, source });
	};

	const Native = window.EventSource;
	let sources = 0;
	class ProbedEventSource extends Native {
		constructor(url: string | URL, init?: EventSourceInit) {
			super(url, init);
			sources += 1;
			const id = sources;
			push('connect', String(url), id);
			this.addEventListener('open', () => push('open', '', id));
			this.addEventListener('error', () => push('error', String(this.readyState), id));
			this.addEventListener('sse:ready', (event) =>
				push('ready', (event as MessageEvent).data, id),
			);
			this.addEventListener('sse:gap', (event) => push('gap', (event as MessageEvent).data, id));
		}
	}
	window.EventSource = ProbedEventSource;

	const shown = (selector: string): string | null => {
		const element = document.querySelector(selector);
		if (!element) return null;
		if (typeof element.checkVisibility === 'function' && !element.checkVisibility()) return null;
		return (element.textContent ?? '').replace(/\s+/g, ' ').trim();
	};
	let status: string | null = null;
	let banner: string | null = null;
	let gapNotice: string | null = null;
	const check = () => {
		const nextStatus = shown('[data-testid="status"]');
		if (nextStatus !== status) {
			status = nextStatus;
			if (nextStatus !== null) push('status', nextStatus);
		}
		const nextBanner = shown('[data-testid="replay-banner"]');
		if (nextBanner !== banner) {
			banner = nextBanner;
			if (nextBanner) push('banner', nextBanner);
		}
		const nextGap = shown('[data-testid="gap-notice"]');
		if (nextGap !== gapNotice) {
			gapNotice = nextGap;
			if (nextGap) push('gap-notice', nextGap);
		}
	};
	new MutationObserver(check).observe(document, {
		subtree: true,
		childList: true,
		characterData: true,
		attributes: true,
	});
}

/** Installs the probe in every page of `context` (call before the first `goto`). */
export async function installProbe(context: BrowserContext): Promise<void> {
	await context.addInitScript(probe);
}

/** `<epoch>-<seq>` → its parts; throws on anything else (the hub sends nothing else). */
export function parseId(id: string): { epoch: string; seq: number } {
	const match = /^([A-Za-z0-9_]+)-(\d+)$/.exec(id);
	if (!match) throw new Error(`"${id}" is not an <epoch>-<seq> event id`);
	return { epoch: match[1] as string, seq: Number(match[2]) };
}

/** A request of the page that failed (a network error) or was answered with a status ≥ 400. */
export interface FailedRequest {
	method: string;
	url: string;
	/** `HTTP <status>`, or Chromium's error text (`net::ERR_…`). */
	failure: string;
}

/** Whether `request` is one of the page's event streams. */
export function isEventStream(request: FailedRequest): boolean {
	return new URL(request.url).pathname === '/api/events';
}

export class DemoPage {
	/** Every request of this page that failed or answered ≥ 400, in the order they ended. */
	readonly failedRequests: FailedRequest[] = [];

	constructor(readonly page: Page) {
		page.on('requestfailed', (request) => {
			this.failedRequests.push({
				method: request.method(),
				url: request.url(),
				failure: request.failure()?.errorText ?? 'failed',
			});
		});
		page.on('response', (response) => {
			if (response.status() < 400) return;
			const request = response.request();
			this.failedRequests.push({
				method: request.method(),
				url: request.url(),
				failure: `HTTP ${response.status()}`,
			});
		});
	}

	/**
	 * The failed requests, less the streams the page closed itself (`ERR_ABORTED` on an event
	 * stream: a topic switched off, a reload), which it does by design.
	 */
	unexpectedFailures(): FailedRequest[] {
		return this.failedRequests.filter(
			(request) => !(isEventStream(request) && request.failure === 'net::ERR_ABORTED'),
		);
	}

	get status(): Locator {
		return this.page.getByTestId('status');
	}

	panel(name: PanelName): Locator {
		return this.page.getByTestId(`panel-${name}`);
	}

	button(name: string): Locator {
		return this.page.getByRole('button', { name, exact: true });
	}

	/** The Notifications / Logs switch (a checkbox, or anything with the switch role). */
	toggle(name: 'Notifications' | 'Logs'): Locator {
		return this.page
			.getByRole('checkbox', { name, exact: true })
			.or(this.page.getByRole('switch', { name, exact: true }));
	}

	/**
	 * Flips a switch as a user does: a click on it. The demo's switch is a checkbox under a
	 * decorative track (as custom switches are), which takes the click for it through their
	 * label; `force` skips only Playwright's "something covers it" check, not the click.
	 */
	async setSwitch(name: 'Notifications' | 'Logs', on: boolean): Promise<void> {
		const toggle = this.toggle(name);
		await toggle.setChecked(on, { force: true, timeout: WAIT_MS });
		await expect.poll(() => toggle.isChecked(), { timeout: WAIT_MS }).toBe(on);
	}

	async open(url: string): Promise<void> {
		await this.page.goto(url);
		await this.waitForStatus('connected');
	}

	async waitForStatus(...statuses: string[]): Promise<string> {
		let last = '';
		await expect
			.poll(
				async () => {
					last = ((await this.status.textContent({ timeout: WAIT_MS })) ?? '').trim();
					return statuses.includes(last);
				},
				{ timeout: WAIT_MS, message: `status to become ${statuses.join(' or ')}` },
			)
			.toBe(true);
		return last;
	}

	/** A counter that shows a number only. */
	async number(testId: string): Promise<number> {
		const text = ((await this.page.getByTestId(testId).textContent({ timeout: WAIT_MS })) ?? '')
			.replace(/\s+/g, ' ')
			.trim();
		const value = Number(text);
		if (text === '' || !Number.isInteger(value)) {
			throw new Error(`[data-testid="${testId}"] should show a number only, shows "${text}"`);
		}
		return value;
	}

	/** Waits until the counter has moved `by` from `from` (or from its value now). */
	async counterMoves(testId: string, by: number, from?: number): Promise<number> {
		const start = from ?? (await this.number(testId));
		let now = start;
		await expect
			.poll(
				async () => {
					now = await this.number(testId);
					return now - start;
				},
				{ timeout: WAIT_MS, message: `${testId} to move ${by} from ${start}` },
			)
			.toBeGreaterThanOrEqual(by);
		return now;
	}

	/** The `data-event-id` of every entry in a panel, in DOM order. */
	ids(panel: PanelName): Promise<string[]> {
		return this.panel(panel)
			.locator('[data-event-id]')
			.evaluateAll((elements) => elements.map((el) => el.getAttribute('data-event-id') ?? ''));
	}

	/**
	 * A feed's ids (DOM order) and its counter, read together in one go so they agree: the
	 * counter counts deliveries, the ids show what was delivered.
	 */
	snapshot(panel: 'notifications' | 'logs'): Promise<{ ids: string[]; count: number }> {
		return this.page.evaluate((topic) => {
			const ids = [
				...document.querySelectorAll(`[data-testid="panel-${topic}"] [data-event-id]`),
			].map((el) => el.getAttribute('data-event-id') ?? '');
			const count = Number(
				document.querySelector(`[data-testid="count-${topic}"]`)?.textContent?.trim(),
			);
			return { ids, count };
		}, panel);
	}

	/**
	 * A panel's ids oldest first (a feed may list newest first), checked to be one epoch and
	 * strictly increasing in `seq` (so each at most once).
	 */
	async orderedIds(panel: PanelName): Promise<string[]> {
		const ids = await this.ids(panel);
		const first = ids[0];
		const last = ids.at(-1);
		const newestFirst =
			first !== undefined && last !== undefined && parseId(first).seq > parseId(last).seq;
		const ordered = newestFirst ? [...ids].reverse() : ids;
		const parsed = ordered.map(parseId);
		expect(new Set(parsed.map((id) => id.epoch)).size, `one epoch in ${panel}: ${ids}`).toBe(
			ids.length ? 1 : 0,
		);
		for (let i = 1; i < parsed.length; i++) {
			const seq = (parsed[i] as { seq: number }).seq;
			const previous = (parsed[i - 1] as { seq: number }).seq;
			if (seq <= previous) {
				throw new Error(
					`${panel} ids are not strictly ${newestFirst ? 'decreasing (newest first)' : 'increasing'} in seq at ${ordered[i - 1]} → ${ordered[i]} (a repeat or a reordering): ${ids.join(' ')}`,
				);
			}
		}
		return ordered;
	}

	/** Everything the probe recorded so far. */
	records(): Promise<ProbeRecord[]> {
		return this.page.evaluate(
			() => (window as unknown as { __e2e: { records: ProbeRecord[] } }).__e2e.records,
		);
	}

	/** Waits until the probe has a record matching `match` after index `from`, and returns it. */
	async record(
		what: string,
		match: (record: ProbeRecord) => boolean,
		from = 0,
	): Promise<ProbeRecord> {
		let found: ProbeRecord | undefined;
		let seen: ProbeRecord[] = [];
		try {
			await expect
				.poll(
					async () => {
						seen = (await this.records()).slice(from);
						found = seen.find(match);
						return found !== undefined;
					},
					{ timeout: WAIT_MS, message: what },
				)
				.toBe(true);
		} catch (error) {
			throw new Error(
				`${what}: not seen. The page recorded:\n${seen.map((r) => `  ${Math.round(r.t)} ${r.kind}${r.source ? `#${r.source}` : ''} ${r.detail}`).join('\n')}`,
				{ cause: error },
			);
		}
		return found as ProbeRecord;
	}
}

/**
 * Asserts that `shown` (oldest first) is exactly the server's sequence for its topic over the
 * range it covers: every id `raw` (a separate subscriber's ids for that topic) has between the
 * first and the last id shown, each once, in order. No hole, no repeat, nothing invented.
 */
export function expectSameSequence(shown: string[], raw: string[], what: string): void {
	expect(shown.length, `${what}: the page shows no ids`).toBeGreaterThan(0);
	const first = parseId(shown[0] as string);
	const last = parseId(shown.at(-1) as string);
	const expected = raw.filter((id) => {
		const { epoch, seq } = parseId(id);
		return epoch === first.epoch && seq >= first.seq && seq <= last.seq;
	});
	const missing = expected.filter((id) => !shown.includes(id));
	const extra = shown.filter((id) => !expected.includes(id));
	expect(
		{ missing, extra },
		`${what}: the page's ids against the server's (${shown[0]} … ${shown.at(-1)})`,
	).toEqual({ missing: [], extra: [] });
	expect(shown).toEqual(expected);
}
