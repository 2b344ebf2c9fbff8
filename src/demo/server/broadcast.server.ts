import type { DemoTopics } from '../topics.js';
import { hub } from './hub.server.js';

type Broadcast = DemoTopics['broadcast'];

/** The shared panel's state: one counter for every tab of every visitor. */
let state: Broadcast = { count: 0, by: '', online: 0 };

export function broadcastState(): Broadcast {
	return state;
}

/** A short, stable, non-secret name for a session. */
export function visitorName(session: string): string {
	return `Visitor ${session
		.replace(/[^a-z0-9]/gi, '')
		.slice(-4)
		.toUpperCase()}`;
}

/** Bumps the counter and tells everyone. */
export async function highFive(session: string): Promise<Broadcast> {
	const { connections } = await hub.stats();
	state = { count: state.count + 1, by: visitorName(session), online: connections };
	await hub.publish('broadcast', state);
	return state;
}

/** Tells everyone how many are online when it changed. */
export async function updateOnline(): Promise<void> {
	const { connections } = await hub.stats();
	if (connections === state.online) return;
	state = { ...state, online: connections };
	await hub.publish('broadcast', state);
}
