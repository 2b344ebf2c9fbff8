// What the hub reads off a request, unit by unit: the topics (and the 400s), the client's id, the
// resume position (the header over the query), and the default cookie session, on http and https.
import type { Cookies } from '@sveltejs/kit';
import { describe, expect, it, vi } from 'vitest';
import { SSEHubError } from '../errors.js';
import {
	clientOf,
	cookieSession,
	parseTopics,
	readCookieSession,
	resumePosition,
	sessionCookieName,
	streamListsOf,
} from './request.js';

const declared = new Set(['chat', 'logs', 'a.b:c-d_e']);
const url = (query: string, origin = 'http://127.0.0.1') => new URL(`${origin}/events?${query}`);

/** The hub error `fn` throws. */
function refusal(fn: () => unknown): SSEHubError {
	try {
		fn();
	} catch (error) {
		if (error instanceof SSEHubError) return error;
		throw error;
	}
	throw new Error('nothing was thrown');
}

describe('parseTopics', () => {
	it('reads one `topics` parameter per topic, in order, each once', () => {
		expect(parseTopics(url('topics=logs&topics=chat&topics=logs'), declared, 32)).toEqual([
			'logs',
			'chat',
		]);
		expect(parseTopics(url('topics=a.b%3Ac-d_e'), declared, 32)).toEqual(['a.b:c-d_e']);
	});

	it('refuses no topic (400 no_topics)', () => {
		const error = refusal(() => parseTopics(url('other=1'), declared, 32));
		expect([error.code, error.status]).toEqual(['no_topics', 400]);
	});

	it('refuses more than maxTopics, counted without repeats (400 too_many_topics)', () => {
		expect(parseTopics(url('topics=chat&topics=chat&topics=logs'), declared, 2)).toHaveLength(2);
		const error = refusal(() => parseTopics(url('topics=chat&topics=logs&topics=x'), declared, 2));
		expect([error.code, error.status]).toEqual(['too_many_topics', 400]);
		expect(error.details).toEqual({ topics: ['chat', 'logs', 'x'], limit: 2 });
	});

	it('names the malformed topics (400 invalid_topic) before any unknown one', () => {
		const error = refusal(() =>
			parseTopics(url('topics=nope&topics=sse%3Aready&topics=a%0Ab'), declared, 32),
		);
		expect([error.code, error.status]).toEqual(['invalid_topic', 400]);
		expect(error.details).toEqual({ topics: ['sse:ready', 'a\nb'] });
		expect(error.message).toContain('"sse:ready", "a\\nb"');
	});

	it('names the unknown topics and what the endpoint serves (400 unknown_topic)', () => {
		const error = refusal(() => parseTopics(url('topics=chat&topics=news&topics=x'), declared, 32));
		expect([error.code, error.status]).toEqual(['unknown_topic', 400]);
		expect(error.details).toEqual({ topics: ['news', 'x'] });
		expect(error.message).toBe(
			'Unknown topics: news, x. This endpoint serves: chat, logs, a.b:c-d_e.',
		);
	});
});

describe('clientOf', () => {
	it('is the `client` parameter, or undefined without one', () => {
		expect(clientOf(url('topics=chat'))).toBeUndefined();
		expect(clientOf(url('client=tab_01-abcdefgh'))).toBe('tab_01-abcdefgh');
	});

	it('refuses an id SSEClient could not have made (400 invalid_client)', () => {
		for (const client of ['short', 'x'.repeat(65), 'has space', 'dot.ted.id', '']) {
			const error = refusal(() => clientOf(url(`client=${encodeURIComponent(client)}`)));
			expect([error.code, error.status], client).toEqual(['invalid_client', 400]);
		}
	});
});

describe('streamListsOf', () => {
	const historyOf = (request: Request, at: URL, requested: string[]) =>
		streamListsOf(request, at, requested).history;
	const first = new Request('http://127.0.0.1/events');
	const reconnect = new Request('http://127.0.0.1/events', { headers: { 'Last-Event-ID': 'e-4' } });

	it('names the requested topics asked with history, once each', () => {
		expect(historyOf(first, url('topics=a&topics=b&history=b&history=b'), ['a', 'b'])).toEqual([
			'b',
		]);
		expect(historyOf(first, url('topics=a'), ['a'])).toEqual([]);
	});

	it("holds for a stream's first request only, not for the browser's own reconnects", () => {
		expect(historyOf(reconnect, url('topics=a&history=a'), ['a'])).toEqual([]);
	});

	it('refuses (400 invalid_history) a history topic the request does not ask for', () => {
		const error = refusal(() => historyOf(first, url('topics=a&history=a&history=z'), ['a']));
		expect(error).toMatchObject({
			code: 'invalid_history',
			status: 400,
			details: { topics: ['z'] },
		});
	});

	it('reads the first and had lists the same way', () => {
		expect(streamListsOf(first, url('topics=a&topics=b&first=a&had=b&had=b'), ['a', 'b'])).toEqual({
			history: [],
			first: ['a'],
			had: ['b'],
		});
		expect(streamListsOf(reconnect, url('topics=a&had=a'), ['a']).had).toEqual([]);
		const error = refusal(() => streamListsOf(first, url('topics=a&had=z'), ['a']));
		expect(error).toMatchObject({ code: 'invalid_history', details: { topics: ['z'] } });
	});
});

describe('resumePosition', () => {
	const request = (lastEventId?: string) =>
		new Request('http://127.0.0.1/events', {
			headers: lastEventId === undefined ? {} : { 'Last-Event-ID': lastEventId },
		});

	it('takes the Last-Event-ID header over the lastEventId parameter', () => {
		expect(resumePosition(request('e-5'), url('lastEventId=e-3'))).toBe('e-5');
	});

	it('takes the parameter without the header (a new EventSource cannot set one), else null', () => {
		expect(resumePosition(request(), url('lastEventId=e-3'))).toBe('e-3');
		expect(resumePosition(request(''), url('lastEventId=e-3'))).toBe('e-3');
		expect(resumePosition(request(), url('topics=chat'))).toBeNull();
		expect(resumePosition(request(), url('lastEventId='))).toBeNull();
	});
});

describe('the cookie session', () => {
	/** Kit's `cookies`, holding `jar`, recording what is set. */
	function cookies(jar: Record<string, string> = {}) {
		const set = vi.fn();
		return { cookies: { get: (name: string) => jar[name], set } as unknown as Cookies, set };
	}

	it('mints a random id in an httpOnly, SameSite=Lax cookie on http, for 30 days', () => {
		const { cookies: jar, set } = cookies();
		const session = cookieSession(jar, url('topics=chat'));
		expect(session).toMatch(/^[A-Za-z0-9_-]{22}$/);
		expect(set).toHaveBeenCalledExactlyOnceWith('sse_session', session, {
			path: '/',
			httpOnly: true,
			sameSite: 'lax',
			secure: false,
			maxAge: 30 * 24 * 3600,
		});
	});

	it('keeps an id it could have made, and replaces one it could not', () => {
		const valid = cookies({ sse_session: 'existing_session_id_0123' });
		expect(cookieSession(valid.cookies, url(''))).toBe('existing_session_id_0123');
		expect(valid.set).not.toHaveBeenCalled();

		for (const planted of ['short', 'not a session id at all', 'x'.repeat(129)]) {
			const forged = cookies({ sse_session: planted });
			expect(cookieSession(forged.cookies, url(''))).not.toBe(planted);
			expect(forged.set).toHaveBeenCalledOnce();
		}
	});

	it('on https is a Secure __Host- cookie, and a bare one (planted from a subdomain) is not read', () => {
		const https = url('', 'https://app.example.com');
		expect(sessionCookieName(https)).toBe('__Host-sse_session');
		expect(sessionCookieName(https, '__Host-mine')).toBe('__Host-mine');
		expect(sessionCookieName(url(''), 'mine')).toBe('mine');

		const planted = cookies({ sse_session: 'planted_by_a_subdomain_0' });
		const session = cookieSession(planted.cookies, https);
		expect(session).not.toBe('planted_by_a_subdomain_0');
		expect(planted.set).toHaveBeenCalledExactlyOnceWith(
			'__Host-sse_session',
			session,
			expect.objectContaining({ path: '/', secure: true }),
		);

		const back = cookies({ '__Host-sse_session': session });
		expect(cookieSession(back.cookies, https)).toBe(session);
		expect(back.set).not.toHaveBeenCalled();
	});

	it("gives a stream request's new session as the Set-Cookie line of its own response", () => {
		const { cookies: jar, set } = cookies();
		const { id, setCookie } = readCookieSession(jar, url(''), { maxAgeSeconds: 60 });
		expect(setCookie).toBe(`sse_session=${id}; Path=/; Max-Age=60; HttpOnly; SameSite=Lax`);
		expect(set).not.toHaveBeenCalled();

		const https = url('', 'https://app.example.com');
		const secure = readCookieSession(cookies().cookies, https);
		expect(secure.setCookie).toBe(
			`__Host-sse_session=${secure.id}; Path=/; Max-Age=2592000; HttpOnly; SameSite=Lax; Secure`,
		);
		// A session the request has needs no line.
		const back = cookies({ '__Host-sse_session': secure.id });
		expect(readCookieSession(back.cookies, https)).toEqual({ id: secure.id });
	});

	it('follows the name and lifetime it is given', () => {
		const { cookies: jar, set } = cookies();
		cookieSession(jar, url(''), { name: 'app_sse', maxAgeSeconds: 60 });
		expect(set).toHaveBeenCalledExactlyOnceWith(
			'app_sse',
			expect.any(String),
			expect.objectContaining({ maxAge: 60 }),
		);
	});
});
