// The demo's broadcast counter: one number for every open tab of every visitor.
import { createClient } from 'redis';
import type { DemoTopics } from '../topics.js';
import { config } from './config.server.js';
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

/** With Redis, the counter lives there, so every process behind the load balancer shares it. */
let counter: ReturnType<typeof createClient> | null = null;

async function nextCount(): Promise<number> {
	if (!config.redisUrl) return state.count + 1;
	if (!counter) {
		counter = createClient({ url: config.redisUrl, disableOfflineQueue: true });
		counter.on('error', () => {}); // reported by the failing command instead
		await counter.connect();
	}
	return counter.incr('sse-demo:high-fives');
}

/** Bumps the counter and tells everyone. */
export async function highFive(session: string): Promise<Broadcast> {
	const [count, { connections }] = await Promise.all([nextCount(), hub.stats()]);
	state = { count, by: visitorName(session), online: connections };
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
