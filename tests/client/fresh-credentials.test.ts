// Expiring tokens with event-source-polyfill, the EventSource that sends headers: every reconnect
// must carry a fresh token. Left to itself, the polyfill reconnects with the headers it was made
// with, so an expired token gets a 401 and the client stops for good.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventSourcePolyfill } from 'event-source-polyfill';
import { afterEach, describe, expect, it } from 'vitest';
import { SSEClient } from '../../src/lib/client/index.js';

type Topics = { chat: { n: number } };

let server: http.Server | undefined;
let client: SSEClient<Topics> | undefined;
afterEach(async () => {
	client?.close();
	server?.closeAllConnections();
	await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
	server = client = undefined;
});

/**
 * A stream endpoint that accepts only the newest token: each of the first streams sends one
 * event, then ends (as a deploy would), and the token expires with it.
 */
async function tokenServer() {
	const seen: string[] = [];
	let valid = 1;
	let sent = 0;
	server = http.createServer((req, res) => {
		const cors = {
			'access-control-allow-origin': req.headers.origin ?? '*',
			'access-control-allow-headers': 'authorization, last-event-id, cache-control',
		};
		if (req.method === 'OPTIONS') return void res.writeHead(204, cors).end();
		const token = req.headers.authorization ?? '';
		seen.push(token);
		if (token !== `Bearer ${valid}`) return void res.writeHead(401, cors).end();
		valid++;
		sent++;
		res.writeHead(200, {
			...cors,
			'content-type': 'text/event-stream',
			'cache-control': 'no-cache',
		});
		const frame = `retry: 50\n\nid: e-${sent}\nevent: chat\ndata: {"n":${sent}}\n\n`;
		// The third stream stays open: three reconnects are the proof, and the test ends here.
		if (sent < 3) res.end(frame);
		else res.write(frame);
	});
	await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	return { url: `http://127.0.0.1:${port}/events`, seen };
}

describe('SSEClient with event-source-polyfill and an eventSourceInit function', () => {
	it('sends a fresh token on every reconnect, so a stream ended by the server resumes', async () => {
		const { url, seen } = await tokenServer();
		let token = 0;
		const received: number[] = [];
		client = new SSEClient<Topics>(url, {
			EventSource: EventSourcePolyfill,
			eventSourceInit: () => ({ headers: { Authorization: `Bearer ${++token}` } }),
			reconnectWait: 50,
			autoConnect: false,
			share: false,
			topics: { chat: (data) => received.push(data.n) },
		});
		client.connect();
		await expect.poll(() => received, { timeout: 10_000 }).toEqual([1, 2, 3]);
		expect(seen.slice(0, 3)).toEqual(['Bearer 1', 'Bearer 2', 'Bearer 3']);
		expect(client.error?.code).not.toBe('unauthorized');
	});
});
