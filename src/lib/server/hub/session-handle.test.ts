/**
 * `hub.handle` and the session cookie, on RequestEvents built from real `Request`s: the cookie is
 * minted once per request and put on `locals`, a valid one is left alone, it composes with Kit's
 * `sequence`, and on https it is a `__Host-` cookie that a bare planted one cannot stand in for.
 * The built app proves the same through SvelteKit itself (tests/built-server.test.ts).
 */
import type { Handle, RequestEvent, ResolveOptions } from '@sveltejs/kit';
import { sequence } from '@sveltejs/kit/hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { requestEvent } from '../../testing/request-event.js';
import { createSSEHub } from './hub.js';
import type { SSESessionLocals } from './session-handle.js';
import type { SSEHub, SSEHubOptions } from './types.js';

type Topics = { chat: { text: string } };
let hub: SSEHub<Topics> | undefined;

afterEach(async () => {
	await hub?.close();
	hub = undefined;
});

function start(options: Partial<SSEHubOptions<Topics>> = {}) {
	hub = createSSEHub<Topics>({ topics: ['chat'], closeOnSignals: false, ...options });
	return hub;
}

/** A request as the browser sends it, with the `Set-Cookie` lines the app answers with. */
function visit(url: string, cookie?: string) {
	const setCookies: string[] = [];
	const headers: Record<string, string> = cookie ? { cookie } : {};
	const event = requestEvent(new Request(url, { headers }), setCookies);
	return { event, setCookies, locals: event.locals as SSESessionLocals };
}

// Kit's `sequence` reads the request store that Kit's runtime opens around every hook call
// (`with_request_store({ event, state }, …)` with its tracer). The entry has no public typings,
// so it is imported by a name TypeScript does not resolve, and given the shape it has.
const kitInternal: string = '@sveltejs/kit/internal/server';
const { with_request_store } = (await import(/* @vite-ignore */ kitInternal)) as {
	with_request_store<T>(store: unknown, fn: () => T): T;
};
const kitState = {
	tracing: { record_span: ({ fn }: { fn: (span: object) => unknown }) => fn({}) },
};

/** Runs `handle` as Kit does for one request, with `resolve` standing for the route. */
function runHook(
	handle: Handle,
	event: RequestEvent,
	resolve: (event: RequestEvent, options?: ResolveOptions) => Response | Promise<Response>,
) {
	return with_request_store({ event, state: kitState }, () => handle({ event, resolve }));
}

const page = () => new Response('<html></html>', { headers: { 'content-type': 'text/html' } });

describe('hub.handle', () => {
	it('gives a first visit one session cookie, on locals, that the stream endpoint then uses as is', async () => {
		const h = start();
		const { event, setCookies, locals } = visit('http://127.0.0.1/api/events?topics=chat');
		const response = await runHook(h.handle, event, (e) => h.handler()(e));
		expect(response.status).toBe(200);
		await response.body?.cancel();

		expect(setCookies).toHaveLength(1);
		const [line = ''] = setCookies;
		expect(line).toMatch(/^sse_session=[A-Za-z0-9_-]{16,128}; Path=\/;/);
		expect(line).not.toMatch(/Secure/);
		expect(line).toContain(`sse_session=${locals.sseSession};`);
		// Later code of the same request (an action, an endpoint) sees the same session.
		expect(await h.sessionOf(event)).toBe(locals.sseSession);
		expect(setCookies).toHaveLength(1);
	});

	it('leaves a valid session cookie alone, and replaces one it could not have made', async () => {
		const h = start();
		const id = 'existing_session_id_0123';
		const valid = visit('http://127.0.0.1/', `sse_session=${id}`);
		await runHook(h.handle, valid.event, page);
		expect(valid.setCookies).toEqual([]);
		expect(valid.locals.sseSession).toBe(id);

		const forged = visit('http://127.0.0.1/', 'sse_session=short');
		await runHook(h.handle, forged.event, page);
		expect(forged.setCookies).toHaveLength(1);
		expect(forged.locals.sseSession).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
	});

	it("composes with Kit's sequence, in either place, and passes the response and options through", async () => {
		const h = start();
		const seen: (string | undefined)[] = [];
		const auth: Handle = ({ event, resolve }) => {
			seen.push((event.locals as SSESessionLocals).sseSession);
			return resolve(event, { transformPageChunk: ({ html }) => html.replace('a', 'b') });
		};

		const after = visit('http://127.0.0.1/');
		let options: ResolveOptions | undefined;
		const response = await runHook(sequence(h.handle, auth), after.event, (_e, o) => {
			options = o;
			return page();
		});
		expect(await response.text()).toBe('<html></html>');
		expect(seen).toEqual([after.locals.sseSession]);
		expect(await options?.transformPageChunk?.({ html: 'a', done: true })).toBe('b');
		expect(after.setCookies).toHaveLength(1);

		const before = visit('http://127.0.0.1/');
		let inRoute: string | undefined;
		await runHook(sequence(auth, h.handle), before.event, (e) => {
			inRoute = (e.locals as SSESessionLocals).sseSession;
			return page();
		});
		expect(inRoute).toMatch(/^[A-Za-z0-9_-]{16,128}$/);
		expect(before.setCookies).toHaveLength(1);
	});

	it('with options.session it mints nothing and does not call the app’s function', async () => {
		let calls = 0;
		const h = start({
			session: () => {
				calls++;
				return 'user-1';
			},
		});
		const { event, setCookies, locals } = visit('http://127.0.0.1/');
		await runHook(h.handle, event, page);
		expect(setCookies).toEqual([]);
		expect(locals.sseSession).toBeUndefined();
		expect(calls).toBe(0);
	});
});

describe('the session cookie on https', () => {
	it('is __Host-sse_session, Secure, Path=/, and a bare planted sse_session is not trusted', async () => {
		const h = start();
		const planted = 'planted_by_a_subdomain_0';
		const { event, setCookies, locals } = visit(
			'https://app.example.com/api/events?topics=chat',
			`sse_session=${planted}`,
		);
		const response = await runHook(h.handle, event, (e) => h.handler()(e));
		expect(response.status).toBe(200);
		await response.body?.cancel();

		expect(setCookies).toHaveLength(1);
		const [line = ''] = setCookies;
		expect(line).toMatch(/^__Host-sse_session=[A-Za-z0-9_-]{16,128}; Path=\/;/);
		expect(line).toMatch(/; Secure(;|$)/);
		expect(line).not.toMatch(/Domain=/i);
		expect(locals.sseSession).not.toBe(planted);
		expect(await h.sessionOf(event)).toBe(locals.sseSession);
	});

	it('the stream handler alone (no hub.handle) ignores a planted sse_session too, and keeps its own', async () => {
		const h = start();
		const planted = 'planted_by_a_subdomain_0';
		const first = visit('https://app.example.com/api/events?topics=chat', `sse_session=${planted}`);
		const session = await h.sessionOf(first.event);
		expect(session).not.toBe(planted);
		expect(first.setCookies[0]).toMatch(/^__Host-sse_session=/);

		const back = visit(
			'https://app.example.com/api/events?topics=chat',
			`sse_session=${planted}; __Host-sse_session=${session}`,
		);
		expect(await h.sessionOf(back.event)).toBe(session);
		expect(back.setCookies).toEqual([]);
	});
});

describe('hub.sessionOf() with no event', () => {
	it('reads the request hub.handle is answering, after awaits, and never another request’s', async () => {
		const h = start();
		const seen = new Map<string, string | null>();
		// Two visitors whose routes interleave: each awaits while the other runs.
		let release: () => void = () => {};
		const gate = new Promise<void>((resolve) => {
			release = resolve;
		});
		const route = (name: string, wait: Promise<void>) => async () => {
			await wait;
			await new Promise((resolve) => setImmediate(resolve));
			seen.set(name, await h.sessionOf());
			return page();
		};
		const ann = visit('http://127.0.0.1/', 'sse_session=ann_session_id_0123456');
		const bob = visit('http://127.0.0.1/');
		const both = Promise.all([
			runHook(h.handle, ann.event, route('ann', gate)),
			runHook(h.handle, bob.event, route('bob', Promise.resolve())),
		]);
		release();
		await both;
		expect(seen.get('ann')).toBe('ann_session_id_0123456');
		expect(seen.get('bob')).toBe(bob.locals.sseSession);
		expect(bob.setCookies).toHaveLength(1);
	});

	it('with options.session, calls it on the request, seeing what a later handle put on locals', async () => {
		type Locals = { user?: { id: string } };
		const h = start({ session: (event) => (event.locals as Locals).user?.id ?? null });
		const signIn: Handle = ({ event, resolve }) => {
			if (event.request.headers.get('cookie') === 'user=ann') {
				(event.locals as Locals).user = { id: 'ann' };
			}
			return resolve(event);
		};
		const sessions: (string | null)[] = [];
		const route = async () => {
			sessions.push(await h.sessionOf());
			return page();
		};
		await runHook(sequence(h.handle, signIn), visit('http://127.0.0.1/', 'user=ann').event, route);
		await runHook(sequence(h.handle, signIn), visit('http://127.0.0.1/').event, route);
		expect(sessions).toEqual(['ann', null]);
	});

	it('outside a request hub.handle answers, rejects with no_request and says to pass the event', async () => {
		const h = start();
		await expect(h.sessionOf()).rejects.toMatchObject({
			name: 'SSEHubError',
			code: 'no_request',
			message: expect.stringContaining('hub.sessionOf(event)'),
		});
		// A route run without hub.handle (it is not in the hooks) is outside one too.
		const { event } = visit('http://127.0.0.1/');
		const pass: Handle = ({ event, resolve }) => resolve(event);
		await runHook(pass, event, async () => {
			await expect(h.sessionOf()).rejects.toMatchObject({ code: 'no_request' });
			return page();
		});
	});
});
