// Serves a SvelteKit `RequestHandler` from a real Node HTTP server on 127.0.0.1, through Kit's
// own request/response conversion (`getRequest` / `setResponse`, what adapter-node uses), so
// tests see exactly the bytes, headers and back-pressure a deployed app has.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RequestHandler } from '@sveltejs/kit';
import { getRequest, setResponse } from '@sveltejs/kit/node';
import { requestEvent } from '../../src/lib/testing/request-event.js';

export interface TestServer {
	/** `http://127.0.0.1:<port>` */
	origin: string;
	/** Open HTTP connections (sockets) right now. */
	connections(): number;
	close(): Promise<void>;
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
