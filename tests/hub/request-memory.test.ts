/**
 * What an open stream keeps of the request that opened it: nothing. SvelteKit answers a request
 * inside an AsyncLocalStorage store that holds its `RequestEvent` (`getRequestEvent()`), and so
 * does `hub.handle`; every promise made in that context carries the store. A stream open for hours
 * must not keep them, or each idle stream holds its request's event, cookies, URL and locals.
 * Nor does the body keep a chunk once it has been read.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { RequestEvent, RequestHandler } from '@sveltejs/kit';
import { afterEach, expect, it } from 'vitest';
import { createSSEHub, type SSEHub } from '../../src/lib/server/index.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';
import { dataEvents, openClient, type TestClient } from '../helpers/sse-client.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects garbage after the current job, when WeakRefs made in it may be cleared. */
async function collectGarbage(): Promise<void> {
	for (let i = 0; i < 3; i++) {
		await new Promise((resolve) => setImmediate(resolve));
		gc();
	}
}

let hub: SSEHub<{ tick: number }> | undefined;
let server: TestServer | undefined;
afterEach(async () => {
	await hub?.close();
	await server?.close();
	hub = server = undefined;
});

it('an open stream keeps neither the RequestEvent nor the request store it was opened in', async () => {
	hub = createSSEHub<{ tick: number }>({ topics: ['tick'], closeOnSignals: false });
	const handler = hub.handler();
	const handle = hub.handle;
	// Kit's own request store, as `respond` opens it around the hooks and the endpoint.
	const kit = new AsyncLocalStorage<{ event: RequestEvent }>();
	const events: WeakRef<RequestEvent>[] = [];
	const asKitDoes: RequestHandler = (event) => {
		events.push(new WeakRef(event));
		return kit.run({ event }, () => handle({ event, resolve: (e) => handler(e) }));
	};
	server = await serveHandler(asKitDoes);

	const url = `${server.origin}/events?topics=tick`;
	const clients: TestClient[] = [];
	for (let i = 0; i < 3; i++) {
		const client = openClient(url, ['tick']);
		clients.push(client);
		// Open: its position frame arrived, so its body has been read.
		await client.opened();
	}
	await collectGarbage();

	// The first stream of the process may keep its request: its body's first read is what tells
	// the hub which context is outside any request. Every one after it keeps nothing.
	expect(events.slice(1).map((ref) => ref.deref() === undefined)).toEqual([true, true]);

	// And they still work.
	await hub.publish('tick', 7);
	for (const client of clients) {
		await client.until((received) => dataEvents(received, 'tick').length === 1, 'the tick');
		expect(dataEvents(client.received, 'tick').map((event) => event.data)).toEqual([7]);
		client.close();
	}
});

it('a chunk every stream has read is not kept for the next one (a burst stays alive no longer than it is read)', async () => {
	const { BodyQueue } = await import('../../src/lib/server/transport/body-queue.js');
	const chunk = new WeakRef(new Uint8Array(256 * 1024));
	const body = new BodyQueue({ taken() {}, cancelled() {} });
	const reader = body.stream.getReader();
	body.push(chunk.deref() as Uint8Array);
	const { value } = await reader.read();
	expect(value?.byteLength).toBe(256 * 1024);
	await collectGarbage();
	expect(chunk.deref()).toBeUndefined();
	await reader.cancel();
});
