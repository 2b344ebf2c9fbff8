// The request `hub.handle` is answering, for `hub.sessionOf()` called with no event (in an action,
// an endpoint, a `load`, or a function they call).
//
// Why our own AsyncLocalStorage and not Kit's `getRequestEvent` (`$app/server`, Kit 2.20+): the
// peer range is `@sveltejs/kit ^2.0.0`, and `$app/server` is a virtual module that only Kit's Vite
// plugin resolves: a bare import of it breaks the plain-node servers that import the packed dist
// (bench/servers), and resolves in an app only when Vite bundles this package. `hub.handle` runs
// around every request anyway, so it opens the scope itself, on any Kit 2.

import type { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestEvent } from '@sveltejs/kit';
import { asyncHooks } from '../async-hooks.js';
import { SSEHubError } from '../errors.js';

// Without `node:async_hooks` (see ../async-hooks.ts), `sessionOf()` needs the event.
const storage: Promise<AsyncLocalStorage<RequestEvent> | null> = asyncHooks.then(
	(hooks) => hooks && new hooks.AsyncLocalStorage<RequestEvent>(),
);
/** `undefined` while the import is under way (no request is in a scope yet), `null` if it failed. */
let loaded: AsyncLocalStorage<RequestEvent> | null | undefined;
void storage.then((found) => {
	loaded = found;
});

/** Runs the rest of the request (`resolve`) with `event` as the current request. */
export async function inRequestScope<T>(event: RequestEvent, fn: () => T): Promise<Awaited<T>> {
	// Awaited, so even a request that comes before the import settles gets its scope.
	const found = await storage;
	return found ? await found.run(event, fn) : await fn();
}

/** The request `hub.handle` is answering, or a clear error saying to pass the event. */
export function currentRequest(): RequestEvent {
	const event = loaded?.getStore();
	if (event) return event;
	throw new SSEHubError(
		'no_request',
		500,
		loaded !== null
			? 'hub.sessionOf() without an event works only while hub.handle answers a request: add `export const handle = hub.handle` (or sequence(…, hub.handle, …)) to src/hooks.server.ts, or pass the event: hub.sessionOf(event).'
			: 'hub.sessionOf() without an event needs node:async_hooks, which this runtime lacks: pass the event, hub.sessionOf(event).',
	);
}
