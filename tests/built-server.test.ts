/**
 * The demo app as it ships: `node build` (adapter-node) in a child process, spoken to over real
 * HTTP by real clients (fetch, node:http, the `eventsource` package).
 */
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import { EventSource } from 'eventsource';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { afterEach, describe, expect, it } from 'vitest';
import { type BuiltApp, startBuiltApp } from './helpers/built-app.js';
import { freePort, startRedis, stopRedis } from './helpers/redis-server.js';

let app: BuiltApp | undefined;
let redis: ChildProcess | undefined;
afterEach(async () => {
	await app?.stop();
	app = undefined;
	if (redis) await stopRedis(redis);
	redis = undefined;
});

/** Rejects with `message` when `promise` has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number, message: string | (() => string)): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		const text = () => (typeof message === 'string' ? message : message());
		timer = setTimeout(() => reject(new Error(`${text()} (waited ${ms} ms)`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

type StreamEnd = { done: true } | { error: string };

interface RawStream {
	response: Response;
	events: EventSourceMessage[];
	/** The first event (already received or still to come) that matches. */
	next(match: (event: EventSourceMessage) => boolean, ms?: number): Promise<EventSourceMessage>;
	/** How the body ended: `{ done: true }` for a clean end of stream, else the read error. */
	end: Promise<StreamEnd>;
	/** Hangs up (as a closed tab would). */
	close(): void;
}

/** An SSE stream read with plain fetch, so the test sees exactly how the body ends. */
async function openStream(url: string, headers: Record<string, string> = {}): Promise<RawStream> {
	const controller = new AbortController();
	const response = await fetch(url, {
		headers: { accept: 'text/event-stream', ...headers },
		signal: controller.signal,
	});
	expect(response.status).toBe(200);
	const body = response.body;
	if (!body) throw new Error(`No body from ${url}`);
	const events: EventSourceMessage[] = [];
	const waiters = new Set<() => void>();
	const parser = createParser({
		onEvent(event) {
			events.push(event);
			for (const wake of [...waiters]) wake();
		},
	});
	const end = (async (): Promise<StreamEnd> => {
		const reader = body.pipeThrough(new TextDecoderStream()).getReader();
		try {
			for (;;) {
				const { done, value } = await reader.read();
				if (done) return { done: true };
				parser.feed(value);
			}
		} catch (error) {
			return { error: String((error as Error).cause ?? error) };
		}
	})();
	return {
		response,
		events,
		end,
		close: () => controller.abort(),
		next(match, ms = 5000) {
			const found = new Promise<EventSourceMessage>((resolve) => {
				const check = () => {
					const event = events.find(match);
					if (event) {
						waiters.delete(check);
						resolve(event);
					}
				};
				waiters.add(check);
				check();
			});
			return within(found, ms, `No matching event on ${url}`);
		},
	};
}

/** A GET over node:http, which shows the response's raw header lines (fetch merges them). */
function rawGet(
	url: string,
	headers: http.OutgoingHttpHeaders,
): Promise<{ response: http.IncomingMessage; close(): void }> {
	return new Promise((resolve, reject) => {
		const request = http.get(url, { agent: false, headers }, (response) => {
			resolve({ response, close: () => request.destroy() });
		});
		request.on('error', reject);
	});
}

/** The values of every raw header line called `name`. */
function headerLines(response: http.IncomingMessage, name: string): string[] {
	const values: string[] = [];
	const raw = response.rawHeaders;
	for (let i = 0; i < raw.length; i += 2) {
		if (raw[i]?.toLowerCase() === name) values.push(raw[i + 1] ?? '');
	}
	return values;
}

/** A browser's cookie jar for one origin, as far as these tests need one: the last value wins. */
class CookieJar {
	readonly #values = new Map<string, string>();
	/** Takes every `Set-Cookie` of a response, in order. */
	take(response: Response) {
		for (const line of response.headers.getSetCookie()) {
			const [pair = ''] = line.split(';');
			const at = pair.indexOf('=');
			this.#values.set(pair.slice(0, at).trim(), pair.slice(at + 1).trim());
		}
	}
	/** The `Cookie` header a browser would send now (none when the jar is empty). */
	header(): Record<string, string> {
		const pairs = [...this.#values].map(([name, value]) => `${name}=${value}`);
		return pairs.length > 0 ? { cookie: pairs.join('; ') } : {};
	}
}

/**
 * SIGTERM, then a clean exit (code 0) well inside adapter-node's SHUTDOWN_TIMEOUT (30 s, what it
 * waits for open connections: without the hub ending its streams this times out, not merely
 * slows), with each stream ended as a finished response, not a cut connection.
 */
async function expectExitOnSigterm(
	started: BuiltApp,
	streams: RawStream[],
	annotate: (message: string) => Promise<unknown>,
): Promise<void> {
	const signalled = performance.now();
	const exit = await within(
		started.kill('SIGTERM'),
		10_000,
		() => `node build still running after SIGTERM.\nstderr:\n${started.stderr()}`,
	);
	const elapsed = exit.at - signalled;
	await annotate(`exited ${Math.round(elapsed)} ms after SIGTERM`);
	expect(exit.code, `stderr:\n${started.stderr()}`).toBe(0);
	expect(exit.signal).toBeNull();
	expect(elapsed, `exited ${Math.round(elapsed)} ms after SIGTERM`).toBeLessThan(3000);
	for (const stream of streams) {
		expect(await within(stream.end, 2000, 'stream did not end')).toEqual({ done: true });
	}
}

/** The demo's feeds at test speed: a log line every 100 ms. */
const FAST = { DEMO_LOG_MS: '100' };

describe('the built app (node build)', () => {
	it('exits with code 0 within 3 s of SIGTERM while SSE streams are open, ending them cleanly', async ({
		annotate,
	}) => {
		const started = await startBuiltApp({ env: FAST });
		app = started;
		const streams = await Promise.all([
			openStream(`${started.url}/api/events?topics=logs`),
			openStream(`${started.url}/api/events?topics=logs&topics=broadcast`),
		]);
		await Promise.all(streams.map((stream) => stream.next((e) => e.event === 'logs')));

		await expectExitOnSigterm(started, streams, annotate);
		expect(started.stderr()).toBe('');
	});

	for (const redisState of ['up', 'down'] as const) {
		it(`with Redis history (Redis ${redisState}), exits with code 0 within 3 s of SIGTERM while SSE streams are open`, async ({
			annotate,
		}) => {
			const port = await freePort();
			redis = await startRedis(port);
			const started = await startBuiltApp({
				env: { ...FAST, REDIS_URL: `redis://127.0.0.1:${port}` },
			});
			app = started;
			const streams = await Promise.all([
				openStream(`${started.url}/api/events?topics=logs`),
				openStream(`${started.url}/api/events?topics=logs&topics=broadcast`),
			]);
			// A live event through Redis: the store's command and subscriber connections are open.
			await Promise.all(streams.map((stream) => stream.next((e) => e.event === 'logs')));
			// Redis gone: the store's connections are retrying, timers and all.
			if (redisState === 'down') await stopRedis(redis);

			await expectExitOnSigterm(started, streams, annotate);
			if (redisState === 'up') expect(started.stderr()).toBe('');
		});
	}

	it('sends the SSE headers the protocol promises, and no Connection header of its own', async () => {
		app = await startBuiltApp({ env: FAST });
		const url = `${app.url}/api/events?topics=logs`;

		const keepAlive = await rawGet(url, { connection: 'keep-alive' });
		try {
			const { response } = keepAlive;
			expect(response.statusCode).toBe(200);
			expect(headerLines(response, 'content-type')).toEqual(['text/event-stream; charset=utf-8']);
			expect(headerLines(response, 'cache-control')).toEqual(['no-cache, no-transform']);
			// Set by the library: adapter-node adds it only for a bare `text/event-stream`, and one
			// line means the two never both add it.
			expect(headerLines(response, 'x-accel-buffering')).toEqual(['no']);
			expect(headerLines(response, 'content-length')).toEqual([]);
			// The app sends no `Connection` header (HTTP/2 forbids it; Safari drops such streams).
			// Node's HTTP/1.1 server still writes its own hop-by-hop `Connection: keep-alive`, with its
			// `Keep-Alive: timeout=5` companion, because the client asked for a persistent connection.
			// Over HTTP/2 Node writes none. What proves the app is not the author: Node answers what
			// the client asked for (below), whereas a header set by the app is sent verbatim instead.
			expect(headerLines(response, 'connection')).toEqual(['keep-alive']);
			expect(headerLines(response, 'keep-alive')).toEqual(['timeout=5']);
		} finally {
			keepAlive.close();
		}

		const close = await rawGet(url, { connection: 'close' });
		try {
			expect(close.response.statusCode).toBe(200);
			expect(headerLines(close.response, 'connection')).toEqual(['close']);
			expect(headerLines(close.response, 'keep-alive')).toEqual([]);
		} finally {
			close.close();
		}
	});

	it('sets the session cookie on the first GET, and delivers a published event with an <epoch>-<seq> id', async () => {
		const started = await startBuiltApp({ env: FAST });
		app = started;
		const endpoint = `${started.url}/api/events`;

		// The first GET makes a session and says so in one cookie (`hub.handle` mints it, the stream
		// handler then finds it: not two); a GET that sends it back keeps it.
		const first = await openStream(`${endpoint}?topics=broadcast`);
		const cookies = first.response.headers.getSetCookie();
		expect(cookies).toHaveLength(1);
		const cookie = cookies[0] ?? '';
		expect(cookie).toMatch(/^sse_session=[A-Za-z0-9_-]{16,128};/);
		expect(cookie).toMatch(/;\s*HttpOnly(;|$)/i);
		expect(cookie).toMatch(/;\s*SameSite=Lax(;|$)/i);
		expect(cookie).toMatch(/;\s*Path=\/(;|$)/i);
		// ORIGIN is http://…, so the cookie must not be `Secure` (a browser would then drop it).
		expect(cookie).not.toMatch(/;\s*Secure(;|$)/i);
		const again = await fetch(`${endpoint}?topics=broadcast`, {
			headers: { cookie: cookie.split(';')[0] ?? '' },
		});
		expect(again.status).toBe(200);
		expect(again.headers.getSetCookie()).toEqual([]);
		await again.body?.cancel();
		first.close();

		// A real EventSource client, live on both topics.
		const source = new EventSource(`${endpoint}?topics=logs&topics=broadcast`);
		try {
			const seen = (type: string) =>
				new Promise<MessageEvent>((resolve) => {
					source.addEventListener(type, (event) => resolve(event), { once: true });
				});
			const ready = seen('sse:ready');
			const tick = seen('logs');
			await within(ready, 5000, 'no sse:ready');
			const log = await within(tick, 5000, 'no logs event');

			// The panel also tells everyone when the number online changes (this stream's arrival
			// may do so): wait for the event that carries the high five.
			const bump = new Promise<MessageEvent>((resolve) => {
				const onBroadcast = (event: MessageEvent) => {
					if ((JSON.parse(event.data) as { count: number }).count === 0) return;
					source.removeEventListener('broadcast', onBroadcast);
					resolve(event);
				};
				source.addEventListener('broadcast', onBroadcast);
			});
			const posted = await fetch(`${started.url}/api/broadcast`, { method: 'POST' });
			expect(posted.status).toBe(200);
			const { count } = (await posted.json()) as { count: number };

			const event = await within(bump, 5000, 'the broadcast never arrived');
			expect(JSON.parse(event.data)).toMatchObject({
				count,
				by: expect.stringMatching(/^Visitor /),
			});
			const ID = /^([^-\s]+)-([1-9]\d*)$/;
			const [, epoch, seq] = ID.exec(event.lastEventId) ?? [];
			const [, logEpoch, logSeq] = ID.exec(log.lastEventId) ?? [];
			expect(epoch, `id ${event.lastEventId}`).toBeTruthy();
			// One hub-wide sequence: the broadcast comes after the log line it followed, in the same epoch.
			expect(epoch).toBe(logEpoch);
			expect(Number(seq)).toBeGreaterThan(Number(logSeq));
		} finally {
			source.close();
		}
	});

	it('a first visit then two streams opened at once: both are one session, so an event published to it reaches both', async () => {
		const started = await startBuiltApp({ env: FAST });
		app = started;
		const jar = new CookieJar();
		// The first visit: the page request is what a browser makes before any script runs.
		const page = await fetch(`${started.url}/`, { headers: jar.header() });
		expect(page.status).toBe(200);
		await page.text();
		jar.take(page);

		// The layout's client and a component's own client open their streams at the same time,
		// each with whatever cookie the page left (a browser does not wait for one to answer).
		const endpoint = `${started.url}/api/events?topics=story&topics=broadcast`;
		const cookie = jar.header();
		const streams = await Promise.all([openStream(endpoint, cookie), openStream(endpoint, cookie)]);
		for (const stream of streams) jar.take(stream.response);
		try {
			// "The caller's session", as any endpoint sees it: the demo's story is told to it.
			const told = await fetch(`${started.url}/api/story`, {
				method: 'POST',
				headers: { ...jar.header(), 'content-type': 'application/json' },
				body: JSON.stringify({ action: 'start' }),
			});
			expect(told.status).toBe(200);
			const isStory = (e: EventSourceMessage) => e.event === 'story';
			await Promise.any(streams.map((stream) => stream.next(isStory)));
			// A broadcast published after the story line: a stream of that session has the line
			// before it, since one stream's events come in seq order.
			const bumped = await fetch(`${started.url}/api/broadcast`, {
				method: 'POST',
				headers: jar.header(),
			});
			const { count } = (await bumped.json()) as { count: number };
			for (const [index, stream] of streams.entries()) {
				const marker = await stream.next(
					(e) =>
						e.event === 'broadcast' && (JSON.parse(e.data) as { count: number }).count === count,
				);
				const before = stream.events.slice(0, stream.events.indexOf(marker));
				expect(before.some(isStory), `stream ${index + 1} never got the story line`).toBe(true);
			}
			// The page made the session; the streams kept it.
			expect(page.headers.getSetCookie()).toHaveLength(1);
			for (const stream of streams) expect(stream.response.headers.getSetCookie()).toEqual([]);
		} finally {
			for (const stream of streams) stream.close();
		}
	});

	it('on https the session cookie is __Host-sse_session (Secure, Path=/, no Domain), and a planted bare sse_session is not trusted', async () => {
		// What adapter-node builds `event.url` from: the app believes it is served over https.
		const started = await startBuiltApp({ env: { ...FAST, ORIGIN: 'https://app.example.com' } });
		app = started;
		// A sibling subdomain can set a cookie for the parent domain, but not a `__Host-` one.
		const planted = 'planted_by_a_subdomain_0';
		const page = await fetch(`${started.url}/`, { headers: { cookie: `sse_session=${planted}` } });
		expect(page.status).toBe(200);
		await page.text();
		const cookies = page.headers.getSetCookie();
		expect(cookies).toHaveLength(1);
		const cookie = cookies[0] ?? '';
		expect(cookie).toMatch(/^__Host-sse_session=[A-Za-z0-9_-]{16,128};/);
		expect(cookie).not.toContain(planted);
		expect(cookie).toMatch(/;\s*Secure(;|$)/i);
		expect(cookie).toMatch(/;\s*Path=\/(;|$)/i);
		expect(cookie).toMatch(/;\s*HttpOnly(;|$)/i);
		expect(cookie).not.toMatch(/;\s*Domain=/i);

		// The stream keeps the `__Host-` session whatever else the browser sends.
		const stream = await openStream(`${started.url}/api/events?topics=broadcast`, {
			cookie: `sse_session=${planted}; ${cookie.split(';')[0]}`,
		});
		try {
			expect(stream.response.headers.getSetCookie()).toEqual([]);
		} finally {
			stream.close();
		}
	});

	it('fails with a clear message when the server cannot start', async () => {
		// A port that is already taken: adapter-node cannot listen, and says why on stderr.
		const blocker = http.createServer();
		await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
		const address = blocker.address();
		const port = typeof address === 'object' && address ? address.port : 0;
		try {
			await expect(startBuiltApp({ env: { PORT: String(port) } })).rejects.toThrow(
				/exited \(code 1.*\n[\s\S]*EADDRINUSE/,
			);
		} finally {
			blocker.close();
		}
	});
});
