// hub.handle: the session cookie minted on the page request, before any stream opens, and the
// request kept as the current one for `hub.sessionOf()` with no event.
import type { Handle } from '@sveltejs/kit';
import type { TopicMapOf } from '../transport/index.js';
import { cookieSession } from './request.js';
import { inRequestScope } from './request-scope.js';
import type { SSEHubOptions } from './types.js';

/** What `hub.handle` puts on `event.locals`; add it to `App.Locals` in `src/app.d.ts`. */
export interface SSESessionLocals {
	/** The caller's cookie session id (set by `hub.handle` unless the hub has `options.session`). */
	sseSession?: string;
}

/**
 * A SvelteKit `Handle` that gives every request a session cookie (if it has no valid one) before
 * the app answers it. Without it, the first streams of a new visitor each make their own session
 * (they open at once, none has the cookie yet) and only the last `Set-Cookie` survives.
 * With `options.session` the app names its sessions itself: nothing to mint, so it only resolves.
 * Either way the rest of the request runs with `event` as the current request (`sessionOf()`).
 */
export function sessionHandle<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
): Handle {
	// The app's own `session` may depend on what a later handle puts on `locals` (the user), or
	// refuse anonymous visitors: calling it on every request here would be wrong or throw.
	if (options.session) return ({ event, resolve }) => inRequestScope(event, () => resolve(event));
	return ({ event, resolve }) => {
		// Mutated, not replaced: `sequence` hands each handle a copy of the event sharing `locals`.
		(event.locals as SSESessionLocals).sseSession = cookieSession(
			event.cookies,
			event.url,
			options.cookie,
		);
		return inRequestScope(event, () => resolve(event));
	};
}
