/**
 * Serves a SvelteKit `RequestHandler` from `node:http` through Kit's own request/response
 * conversion (`getRequest` / `setResponse` from `@sveltejs/kit/node`), which is what
 * adapter-node does for every request. What it skips, Kit's router and hooks, costs the same
 * per request whatever the handler, and nothing per event.
 *
 * The bench's counterpart of `tests/helpers/hub-server.ts` (plain ESM: the bench runs on Node
 * without a TypeScript step).
 */
import { getRequest, setResponse } from '@sveltejs/kit/node';

/** The part of Kit's `cookies` a handler uses, backed by the request's Cookie header. */
function requestCookies(request, setCookies) {
	const jar = new Map();
	for (const part of (request.headers.get('cookie') ?? '').split(';')) {
		const [name, ...value] = part.trim().split('=');
		if (name) jar.set(name, decodeURIComponent(value.join('=')));
	}
	return {
		get: (name) => jar.get(name),
		set: (name, value, options) => {
			jar.set(name, value);
			const attributes = [`${name}=${encodeURIComponent(value)}`, `Path=${options.path}`];
			if (options.maxAge !== undefined) attributes.push(`Max-Age=${options.maxAge}`);
			if (options.httpOnly) attributes.push('HttpOnly');
			if (options.sameSite) attributes.push(`SameSite=${String(options.sameSite)}`);
			setCookies.push(attributes.join('; '));
		},
	};
}

/** A RequestEvent with what a `+server.ts` GET handler touches. */
function requestEvent(request, setCookies, socket) {
	return {
		request,
		url: new URL(request.url),
		cookies: requestCookies(request, setCookies),
		locals: {},
		params: {},
		route: { id: '/sse' },
		platform: undefined,
		isDataRequest: false,
		isSubRequest: false,
		// Read when asked, as adapter-node does: the peer's address costs a system call.
		getClientAddress: () => socket.remoteAddress,
		setHeaders: () => {},
		fetch,
	};
}

/** `(req, res) => Promise<void>` that runs `handler` the way adapter-node would. */
export function kitHandler(handler) {
	return async (req, res) => {
		const request = await getRequest({ request: req, base: `http://${req.headers.host}` });
		const setCookies = [];
		const response = await handler(requestEvent(request, setCookies, req.socket));
		// Kit appends cookies set through `event.cookies` to the response's own headers.
		for (const cookie of setCookies) response.headers.append('set-cookie', cookie);
		await setResponse(res, response);
	};
}
