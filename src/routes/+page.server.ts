import { broadcastState } from '$demo/server/broadcast.server.js';
import { config } from '$demo/server/config.server.js';
import type { PageServerLoad } from './$types.js';

export const load: PageServerLoad = () => ({
	broadcast: broadcastState(),
	// The feeds' pace, so the page describes them truly whatever the environment sets.
	every: { notifications: config.notifyEveryMs / 1000, logs: config.logEveryMs / 1000 },
});
