// A scripted server (src/lib/testing/client-suite/scripted-server.ts) over real HTTP, for the
// client suite on the real `eventsource` package: a Node server on 127.0.0.1 that holds each
// request until the test answers it, with `produceSSE` streams (through Kit's own request and
// response conversion) and raw frames, so a test writes exactly what the stream carries,
// control events included.
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequest, setResponse } from '@sveltejs/kit/node';
import { EventSource } from 'eventsource';
import { produceSSE, type SSEConnection } from '../../src/lib/server/index.js';
import { frame } from '../../src/lib/server/wire/index.js';
import type {
	ScriptedServer,
	ServerStream,
	StreamRequest,
} from '../../src/lib/testing/client-suite/index.js';

/** The `retry:` hint: the EventSource's own reconnects come quickly. */
const RETRY_MS = 20;
/** How long a restart keeps the port closed: long enough for a reconnect to find it so. */
const RESTART_DOWN_MS = 3 * RETRY_MS;

/** Serves the scripted endpoint `/events` on a free port of 127.0.0.1. */
export async function scriptedHTTPServer(): Promise<ScriptedServer> {
	const arrived: StreamRequest[] = [];
	const waiting: Array<(request: StreamRequest) => void> = [];
	/** Requests not answered yet: answered with 503 when the server goes away. */
	const unanswered = new Set<(response: Response) => void>();
	const streams = new Set<SSEConnection>();
	const sockets = new Set<Socket>();
	let requestCount = 0;
	/** The status the last refused request got: what a HEAD asking why is answered. */
	let lastRefusal: number | undefined;

	function arrive(request: StreamRequest) {
		const waiter = waiting.shift();
		if (waiter) waiter(request);
		else arrived.push(request);
	}

	/** One request, held until the test accepts or refuses it. */
	function attempt(
		url: URL,
		headers: Headers,
		answer: (response: Response) => void,
		isClosed: () => boolean,
	) {
		let answered = false;
		const once = (response: Response) => {
			if (answered) throw new Error('scripted server: this request was answered already');
			answered = true;
			unanswered.delete(answer);
			answer(response);
		};
		const request: StreamRequest = {
			url: `${url.pathname}${url.search}`,
			topics: url.searchParams.getAll('topics'),
			lastEventId: headers.get('last-event-id') ?? url.searchParams.get('lastEventId'),
			param: (name) => url.searchParams.get(name),
			get closed() {
				return isClosed();
			},
			accept() {
				lastRefusal = undefined;
				let connection: SSEConnection | undefined;
				const response = produceSSE(
					(_emit, opened) => {
						connection = opened;
						streams.add(opened);
						return () => streams.delete(opened);
					},
					{ retryMs: RETRY_MS, keepAliveMs: 0 },
				);
				once(response);
				const open = connection as SSEConnection;
				const stream: ServerStream = {
					request,
					emit: (type, data, id) => open.write(frame(type, JSON.stringify(data), id)),
					emitText: (type, text, id) => open.write(frame(type, text, id)),
					end: () => open.close(),
					get closed() {
						return isClosed();
					},
				};
				return stream;
			},
			refuse(status) {
				lastRefusal = status;
				const body = JSON.stringify({ error: { code: 'refused', message: `HTTP ${status}` } });
				once(new Response(body, { status, headers: { 'content-type': 'application/json' } }));
			},
		};
		unanswered.add(answer);
		arrive(request);
	}

	const server = http.createServer(async (req, res) => {
		if (req.method === 'HEAD') {
			// SSEClient asks why a stream failed: the answer the last refusal gave, as the hub would.
			res.writeHead(lastRefusal ?? 200).end();
			return;
		}
		requestCount++;
		let closed = false;
		res.on('close', () => {
			closed = true;
		});
		const request = await getRequest({ request: req, base: `http://${req.headers.host}` });
		const response = await new Promise<Response>((answer) =>
			attempt(new URL(request.url), request.headers, answer, () => closed),
		);
		await setResponse(res, response);
	});
	server.on('connection', (socket) => {
		sockets.add(socket);
		socket.on('close', () => sockets.delete(socket));
	});

	const listen = (port: number) =>
		new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
	/** Answers what waits, ends every stream and socket, and stops listening. */
	const stop = () =>
		new Promise<void>((resolve) => {
			for (const answer of [...unanswered]) answer(new Response(null, { status: 503 }));
			unanswered.clear();
			for (const stream of [...streams]) stream.close();
			for (const socket of sockets) socket.destroy();
			server.close(() => resolve());
		});

	await listen(0);
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}/events`,
		EventSource,
		get requestCount() {
			return requestCount;
		},
		nextRequest() {
			const request = arrived.shift();
			if (request) return Promise.resolve(request);
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					waiting.splice(waiting.indexOf(deliver), 1);
					reject(new Error('scripted server: no request came'));
				}, 5000);
				const deliver = (next: StreamRequest) => {
					clearTimeout(timer);
					resolve(next);
				};
				waiting.push(deliver);
			});
		},
		async restart() {
			await stop();
			await new Promise((resolve) => setTimeout(resolve, RESTART_DOWN_MS));
			await listen(port);
		},
		close: stop,
	};
}
