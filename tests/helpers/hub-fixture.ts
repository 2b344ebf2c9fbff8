// A hub served over real HTTP for one test file, with everything it opened closed after each
// test: `const fixture = hubFixture<Topics>(['chat', 'logs']);` then `await fixture.start()`.
import { afterEach } from 'vitest';
import {
	createSSEHub,
	type SSEHub,
	type SSEHubOptions,
	type TopicMapOf,
} from '../../src/lib/server/index.js';
import { serveHandler, type TestServer } from './hub-server.js';
import { openClient, type TestClient } from './sse-client.js';

export function hubFixture<Topics extends TopicMapOf<Topics>>(
	topics: readonly (keyof Topics & string)[],
) {
	let server: TestServer | undefined;
	let hub: SSEHub<Topics> | undefined;
	const clients: Array<{ close(): void }> = [];

	async function stop(): Promise<void> {
		for (const client of clients.splice(0)) client.close();
		await hub?.close();
		await server?.close();
		hub = server = undefined;
	}
	afterEach(stop);

	return {
		/** A hub on these topics (signals left alone: the test runner owns them), served on 127.0.0.1. */
		async start(options: Partial<SSEHubOptions<Topics>> = {}) {
			hub = createSSEHub<Topics>({ topics, closeOnSignals: false, ...options });
			server = await serveHandler(hub.handler());
			return { hub, origin: server.origin };
		},
		/** An `eventsource` client on `url`, recording every topic of the hub; closed after the test. */
		open(url: string, jar?: Map<string, string>): TestClient {
			return this.track(openClient(url, topics, jar));
		},
		/** Closes `client` (a TestClient, an SSEClient) after the test, before the hub. */
		track<Client extends { close(): void }>(client: Client): Client {
			clients.push(client);
			return client;
		},
		stop,
	};
}
