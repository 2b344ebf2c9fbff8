import { error, json } from '@sveltejs/kit';
import { hub } from '$demo/server/hub.server.js';
import type { RequestHandler } from './$types.js';

/** Cuts this session's streams, so you can watch the client resume and replay. */
export const POST: RequestHandler = async (event) => {
	const session = await hub.sessionOf(event);
	if (!session) error(401, 'No session.');
	return json({ dropped: hub.disconnect(session) });
};
