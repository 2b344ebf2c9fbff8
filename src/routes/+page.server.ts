import { broadcastState } from '$demo/server/broadcast.server.js';
import { config } from '$demo/server/config.server.js';
import { hub } from '$demo/server/hub.server.js';
import type { PageServerLoad } from './$types.js';

export const load: PageServerLoad = async (event) => {
	// What the page shows first, rendered here: this session's story and the feeds' latest. The
	// layout's client starts its stream right after `snapshot.lastEventId`, so nothing shown here
	// comes again and nothing published meanwhile is lost.
	const session = await hub.sessionOf(event);
	const snapshot = await hub.snapshot(['story', 'notifications', 'logs'], { session, last: 50 });
	return {
		snapshot,
		// Read after the snapshot: no older than its position (later bumps arrive on the stream).
		broadcast: broadcastState(),
		// The feeds' pace, so the page describes them truly whatever the environment sets.
		every: { notifications: config.notifyEveryMs / 1000, logs: config.logEveryMs / 1000 },
	};
};
