// A hub's stream opened through its handler, without a server, and read with `sseClient` at the
// pace the test sets: for the hub's unit tests, which must not depend on tests/helpers.
import type { SSEHub } from '../server/hub/index.js';
import type { TopicMapOf } from '../server/transport/index.js';
import { requestEvent } from './request-event.js';
import { sseClient } from './sse-body.js';

/** `GET /events?<query>` on `hub`, as its handler answers it; rejects on a refusal. */
export async function openHubStream<Topics extends TopicMapOf<Topics>>(
	hub: SSEHub<Topics>,
	query: string,
	headers?: HeadersInit,
) {
	const request = new Request(`http://127.0.0.1/events?${query}`, { headers });
	const response = await hub.handler()(requestEvent(request));
	if (response.status !== 200 || !response.body) {
		throw new Error(`no stream (status ${response.status}): ${await response.text()}`);
	}
	return sseClient(response);
}

export type HubStreamClient = Awaited<ReturnType<typeof openHubStream>>;

/** Whether `client` has read its `sse:ready` (its replay is over, what follows is live). */
export const isReady = (client: HubStreamClient) =>
	client.events.some((event) => event.event === 'sse:ready');
