import { json } from '@sveltejs/kit';
import { hub } from '$demo/server/hub.server.js';
import type { RequestHandler } from './$types.js';

/** The hub's figures: open streams in this process, sessions, retained events, the head. */
export const GET: RequestHandler = async () => json(await hub.stats());
