/**
 * Serves a SvelteKit `RequestHandler` from a real Node HTTP server on 127.0.0.1, through Kit's
 * own request/response conversion (`getRequest` / `setResponse`, what adapter-node uses), so
 * tests see exactly the bytes, headers and back-pressure a deployed app has.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cookies, RequestEvent, RequestHandler } from '@sveltejs/kit';
import { getRequest, setResponse } from '@sveltejs/kit/node';

export interface TestServer {
	/** `http://127.0.0.1:<port>` */
	origin: string;
	/** Open HTTP connections (sockets) right now. */
	connections(): number;
	close(): Promise<void>;
}

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

/** Starts a server for `handler` on a free port of 127.0.0.1. */
export async function serveHandler(handler: RequestHandler): Promise<TestServer> {
	const sockets = new Set<import('node:net').Socket>();
	const server = http.createServer(async (req, res) => {
		try {
			const request = await getRequest({ request: req, base: `http://${req.headers.host}` });
			const setCookies: string[] = [];
			const event = requestEvent(request, setCookies, req.socket.remoteAddress);
			const response = await handler(event);
			const headers = new Headers(response.headers);
			for (const cookie of setCookies) headers.append('set-cookie', cookie);
			await setResponse(res, new Response(response.body, { status: response.status, headers }));
		} catch (error) {
			res.writeHead(500).end(String(error));
		}
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return {
		origin: `http://127.0.0.1:${port}`,
		connections: () => sockets.size,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	};
}
