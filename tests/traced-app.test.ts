/**
 * The README's OpenTelemetry claim, through a real built app with SvelteKit's tracing on
 * (tests/fixtures/traced-app, built with adapter-node and served by `node build`): the SDK is
 * registered in `instrumentation.server.ts`, a page in Chromium opens its stream, and the stream's
 * `sse.stream.open` span is a child of the span SvelteKit records for that request, in its trace.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBrowser } from './helpers/browser.js';
import { type BuiltApp, buildApp, repoRoot, startBuiltApp } from './helpers/built-app.js';

/** A finished span as the fixture's `/spans` route lists it. */
interface RecordedSpan {
	name: string;
	traceId: string;
	spanId: string;
	parentSpanId: string | null;
	attributes: Record<string, unknown>;
}

const appDir = join(repoRoot, 'tests/fixtures/traced-app');
const browser = useBrowser();
let app: BuiltApp;

beforeAll(async () => {
	await buildApp(appDir);
	app = await startBuiltApp({ appDir });
}, 300_000);

afterAll(async () => {
	await app?.stop();
});

async function recordedSpans(): Promise<RecordedSpan[]> {
	const response = await fetch(`${app.url}/spans`);
	expect(response.status).toBe(200);
	return (await response.json()) as RecordedSpan[];
}

describe('OpenTelemetry with SvelteKit tracing on', () => {
	it("a page's stream records sse.stream.open as a child of Kit's span for the stream request", async () => {
		const page = await browser.newPage();
		await page.goto(app.url);
		// `connected` comes with `sse:ready`, and the span ends as `sse:ready` is written.
		await page.waitForSelector('.status:text("connected")');

		const spans = await recordedSpans();
		const opens = spans.filter((span) => span.name === 'sse.stream.open');
		expect(opens, 'one stream, one span').toHaveLength(1);
		const [open] = opens as [RecordedSpan];
		expect(open.attributes).toMatchObject({ 'sse.topics.count': 1, 'sse.resumed': false });

		// Its parent is Kit's `resolve` span for GET /api/events, under that request's root span.
		const byId = new Map(spans.map((span) => [span.spanId, span]));
		const resolve = byId.get(open.parentSpanId ?? '');
		expect(resolve, 'the parent span is among the recorded ones').toBeDefined();
		expect(resolve).toMatchObject({
			name: 'sveltekit.resolve',
			traceId: open.traceId,
			attributes: { 'http.route': '/api/events' },
		});
		const root = byId.get(resolve?.parentSpanId ?? '');
		expect(root).toMatchObject({
			name: 'sveltekit.handle.root',
			traceId: open.traceId,
			parentSpanId: null,
			attributes: { 'http.route': '/api/events', 'http.method': 'GET' },
		});

		// The page request was its own trace: the stream's span is not filed under it.
		const pageRoots = spans.filter(
			(span) => span.name === 'sveltekit.handle.root' && span.attributes['http.route'] === '/',
		);
		expect(pageRoots.length).toBeGreaterThan(0);
		for (const pageRoot of pageRoots) expect(pageRoot.traceId).not.toBe(open.traceId);
	});
});
