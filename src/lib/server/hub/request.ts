// What the hub reads off a request: its topics, the client's id, its resume position, and the
// default session (a random id in a cookie).
import type { Cookies } from '@sveltejs/kit';
import { SSEHubError } from '../errors.js';
import { topicNameProblem } from '../wire/index.js';
import { randomId } from './random-id.js';

/** Reads `?topics=a&topics=b` and checks it against the declared topics. */
export function parseTopics(url: URL, declared: ReadonlySet<string>, maxTopics: number): string[] {
	const requested = distinct(url.searchParams.getAll('topics'));
	if (requested.length === 0) {
		throw new SSEHubError('no_topics', 400, 'Name at least one topic: ?topics=a&topics=b.');
	}
	if (requested.length > maxTopics) {
		throw new SSEHubError(
			'too_many_topics',
			400,
			`${requested.length} topics requested; at most ${maxTopics} per connection.`,
			{ topics: requested, limit: maxTopics },
		);
	}
	const invalid = requested.filter((topic) => topicNameProblem(topic) !== null);
	if (invalid.length > 0) {
		throw new SSEHubError(
			'invalid_topic',
			400,
			`Malformed topic names: ${invalid.map((t) => JSON.stringify(t)).join(', ')}. ${topicNameProblem(invalid[0])}.`,
			{ topics: invalid },
		);
	}
	const unknown = requested.filter((topic) => !declared.has(topic));
	if (unknown.length > 0) {
		throw new SSEHubError(
			'unknown_topic',
			400,
			`Unknown topics: ${unknown.join(', ')}. This endpoint serves: ${[...declared].join(', ')}.`,
			{ topics: unknown },
		);
	}
	return requested;
}

/** `values` without repeats, in order (most requests name one topic: no Set made for it). */
function distinct(values: string[]): string[] {
	return values.length < 2 ? values : [...new Set(values)];
}

const CLIENT_ID = /^[A-Za-z0-9_-]{8,64}$/;

/**
 * The id a client names itself with (`?client=`, which `SSEClient` adds and the browser's own
 * reconnects keep), so the hub can tell its records from those of other tabs of its session.
 */
export function clientOf(url: URL): string | undefined {
	const client = url.searchParams.get('client');
	if (client === null) return undefined;
	if (!CLIENT_ID.test(client)) {
		throw new SSEHubError(
			'invalid_client',
			400,
			'The client parameter must be 8 to 64 letters, digits, "_" or "-" (SSEClient makes one).',
		);
	}
	return client;
}

/** The stream-shaping topic lists a request may carry (see `streamListsOf`). */
export interface StreamLists {
	/** `?history=`: topics to give their `newTopicHistory` although the client may have had them. */
	history: string[];
	/** `?first=`: topics to give their first-connection history (a tab new to a shared stream). */
	first: string[];
	/** `?had=`: topics the client holds every event of up to its position (it rendered a snapshot). */
	had: string[];
}

/**
 * `?history=a`: topics of the request the client wants the history of although it may have had
 * them, as a stream shared by several tabs does for a tab that adds one; `?first=a`: the same with
 * the first-connection history, for a tab that joins the shared stream; `?had=a`: topics the
 * client states it holds up to its position, as one that starts from `hub.snapshot` does. Each
 * must be one of the requested topics. They hold for the stream's first request only: a request
 * with the `Last-Event-ID` header is the browser's own reconnect of that stream ([spec] it keeps
 * the URL), which got the history already (and topic safety replays it again if unsure).
 */
export function streamListsOf(
	request: Request,
	url: URL,
	requested: readonly string[],
): StreamLists {
	const listed = (name: keyof StreamLists) => {
		const asked = distinct(url.searchParams.getAll(name));
		if (asked.length === 0) return asked; // the usual case
		const stray = asked.filter((topic) => !requested.includes(topic));
		if (stray.length > 0) {
			throw new SSEHubError(
				'invalid_history',
				400,
				`The ${name} parameter names topics not requested: ${stray.join(', ')}; name each in ?topics= too.`,
				{ topics: stray },
			);
		}
		return request.headers.has('last-event-id') ? [] : asked;
	};
	return { history: listed('history'), first: listed('first'), had: listed('had') };
}

/**
 * The client's resume position: the `Last-Event-ID` header ([spec] the browser sends the last
 * event id it got when it reconnects by itself) wins over the `lastEventId` query parameter
 * (sent by a client that opens a new `EventSource`, which cannot set headers).
 */
export function resumePosition(request: Request, url: URL): string | null {
	return request.headers.get('last-event-id') || url.searchParams.get('lastEventId') || null;
}

export interface SessionCookieOptions {
	/**
	 * The cookie's name. On https it gets the `__Host-` prefix (`__Host-sse_session`), which a
	 * browser accepts only from this host, Secure, with `Path=/` and no `Domain`: a sibling
	 * subdomain cannot plant one. Plain http keeps the bare name (browsers refuse `__Host-` there).
	 * @default 'sse_session'
	 */
	name?: string;
	/** @default 2592000 (30 days) */
	maxAgeSeconds?: number;
}

const SESSION_ID = /^[A-Za-z0-9_-]{16,128}$/;
const DEFAULT_MAX_AGE_SECONDS = 30 * 24 * 3600;
const HOST_PREFIX = '__Host-';

/** The session cookie's name for this request: `__Host-` prefixed on https. */
export function sessionCookieName(url: URL, name = 'sse_session'): string {
	return url.protocol === 'https:' && !name.startsWith(HOST_PREFIX) ? HOST_PREFIX + name : name;
}

/** A request's session: its id, and the `Set-Cookie` line if it is a default one made now. */
export interface RequestSession {
	id: string;
	setCookie?: string;
}

/**
 * The default session: a random id in an httpOnly, SameSite=Lax cookie, created on the first
 * request that asks. An id that is not one we could have made is replaced, not trusted; on https
 * only the `__Host-` cookie is read, so a bare one planted from a subdomain is ignored.
 *
 * A new id comes with its `Set-Cookie` line for the caller's own response: the stream handler
 * puts it on the stream's headers, which costs a connection less than Kit's `cookies.set` (that
 * resolves the path against the URL, then serializes the cookie into the response once more).
 */
export function readCookieSession(
	cookies: Cookies,
	url: URL,
	{ name, maxAgeSeconds = DEFAULT_MAX_AGE_SECONDS }: SessionCookieOptions = {},
): RequestSession {
	const cookieName = sessionCookieName(url, name);
	const existing = validSession(cookies, cookieName);
	if (existing) return { id: existing };
	const id = randomId();
	// `__Host-` demands exactly this on https: Secure, Path=/, no Domain.
	const secure = url.protocol === 'https:' ? '; Secure' : '';
	const setCookie = `${cookieName}=${id}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Lax${secure}`;
	return { id, setCookie };
}

/**
 * The default session through Kit's `cookies`, for a request whose response is the app's (a
 * page, a form action): a new id is set there, with the same attributes.
 */
export function cookieSession(
	cookies: Cookies,
	url: URL,
	{ name, maxAgeSeconds = DEFAULT_MAX_AGE_SECONDS }: SessionCookieOptions = {},
): string {
	const cookieName = sessionCookieName(url, name);
	const existing = validSession(cookies, cookieName);
	if (existing) return existing;
	const id = randomId();
	cookies.set(cookieName, id, {
		path: '/',
		httpOnly: true,
		sameSite: 'lax',
		secure: url.protocol === 'https:',
		maxAge: maxAgeSeconds,
	});
	return id;
}

/** The session id the cookie holds, if it is one we could have made (else it is replaced). */
function validSession(cookies: Cookies, cookieName: string): string | undefined {
	const existing = cookies.get(cookieName);
	return existing && SESSION_ID.test(existing) ? existing : undefined;
}
