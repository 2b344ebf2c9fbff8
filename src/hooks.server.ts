import type { ServerInit } from '@sveltejs/kit';
import { startFeeds } from '$demo/server/feeds.server.js';

/** Once, when the server starts (not during the build): the demo's background feeds. */
export const init: ServerInit = () => {
	startFeeds();
};
