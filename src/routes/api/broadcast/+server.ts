import { error, json } from '@sveltejs/kit';
import { highFive } from '$demo/server/broadcast.server.js';
import { hub } from '$demo/server/hub.server.js';
import type { RequestHandler } from './$types.js';

/** Bumps the shared counter; every open tab sees it through the `broadcast` topic. */
export const POST: RequestHandler = async (event) => {
	const session = await hub.sessionOf(event);
	if (!session) error(401, 'No session.');
	const { count } = await highFive(session);
	return json({ count });
};
