// A SvelteKit `RequestEvent` built from a real `Request`, with what a `+server.ts` handler and the
// hub touch (cookies read from the Cookie header, cookies set collected as `Set-Cookie` lines), for
// tests that call a handler or a hook without a server.
import type { Cookies, RequestEvent } from '@sveltejs/kit';

/** The part of Kit's `cookies` the hub uses, backed by the request's Cookie header. */
function requestCookies(request: Request, setCookies: string[]): Cookies {
	const jar = new Map<string, string>();
	for (const part of (request.headers.get('cookie') ?? '').split(';')) {
		const [name, ...value] = part.trim().split('=');
		if (name) jar.set(name, decodeURIComponent(value.join('=')));
	}
	const cookies: Pick<Cookies, 'get' | 'set'> = {
		get: (name) => jar.get(name),
		set: (name, value, options) => {
			jar.set(name, value);
			const attributes = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path}`];
			if (options.maxAge !== undefined) attributes.push(`Max-Age=${options.maxAge}`);
			if (options.httpOnly) attributes.push('HttpOnly');
			if (options.secure) attributes.push('Secure');
			if (options.sameSite) attributes.push(`SameSite=${String(options.sameSite)}`);
			setCookies.push(attributes.join('; '));
		},
	};
	// The hub reads and sets its session cookie only; the rest of Kit's API is not needed here.
	return cookies as Cookies;
}

/**
 * A RequestEvent with what a `+server.ts` GET handler touches (the cast says the rest of Kit's
 * event is not needed here). Cookies set by the handler are appended to `setCookies`.
 */
export function requestEvent(
	request: Request,
	setCookies: string[] = [],
	clientAddress = '127.0.0.1',
): RequestEvent {
	return {
		request,
		url: new URL(request.url),
		cookies: requestCookies(request, setCookies),
		locals: {},
		params: {},
		route: { id: '/events' },
		platform: undefined,
		isDataRequest: false,
		isSubRequest: false,
		isRemoteRequest: false,
		getClientAddress: () => clientAddress,
		setHeaders: () => {},
		fetch,
	} as unknown as RequestEvent;
}
