// The demo's server hooks: its background feeds start with the server, and every visitor gets
// a session on the page request. src/hooks.server.ts only wires these in.
import type { Handle, ServerInit } from '@sveltejs/kit';
import { startFeeds } from './feeds.server.js';
import { hub } from './hub.server.js';

/** Once, when the server starts (not during the build): the demo's background feeds. */
export const init: ServerInit = () => {
	startFeeds();
};

/**
 * The session cookie on the page request, so that every stream the page opens (even several
 * at once) shares one session; the id is on `event.locals.sseSession`.
 */
export const handle: Handle = hub.handle;
