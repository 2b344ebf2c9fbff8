// One client for a whole app: the provider in `+layout.svelte` sets it, components below get it.
import { getContext, hasContext, setContext } from 'svelte';
import type { SSEClient, TopicMap } from './sse-client.svelte.js';

const KEY = Symbol.for('svelte-sse-kit.client');

/**
 * Shares one client with every component below this one: call it in `+layout.svelte` so the
 * whole app uses one connection. Returns the client.
 */
export function setSSEContext<Topics extends TopicMap>(
	client: SSEClient<Topics>,
): SSEClient<Topics> {
	return setContext(KEY, client);
}

/** The client set by `setSSEContext` in a parent component. */
export function getSSEContext<Topics extends TopicMap>(): SSEClient<Topics> {
	if (!hasContext(KEY)) {
		throw new Error(
			'No SSEClient in context: call setSSEContext(new SSEClient(...)) in a parent component, such as +layout.svelte, before getSSEContext().',
		);
	}
	return getContext<SSEClient<Topics>>(KEY);
}
