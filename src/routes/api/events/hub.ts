import { createSSEHub } from 'svelte-sse-kit/server';

/** The topics of the placeholder demo and the type of each one's data. */
export type DemoTopics = {
	clock: { now: string };
	notes: { text: string };
};

export const hub = createSSEHub<DemoTopics>({ topics: ['clock', 'notes'] });

// One tick a second for whoever listens; unref'd so it never holds the process open.
setInterval(() => {
	void hub.publish('clock', { now: new Date().toISOString() });
}, 1000).unref();
