import { json } from '@sveltejs/kit';
import { hub } from '$demo/server/hub.server.js';
import type { RequestHandler } from './$types.js';

/** `hub.stats()`: open streams, sessions, retained events, and the counters since the hub started. */
export const GET: RequestHandler = async () => json(await hub.stats());
