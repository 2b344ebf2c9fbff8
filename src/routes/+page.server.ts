import { broadcastState } from '$demo/server/broadcast.server.js';
import type { PageServerLoad } from './$types.js';

export const load: PageServerLoad = () => ({ broadcast: broadcastState() });
