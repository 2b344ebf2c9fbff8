import type { HubStats } from 'svelte-sse-kit/server';

/** The demo's POST endpoints. A refusal becomes an Error carrying the server's message. */
async function post<T>(url: string, body?: unknown): Promise<T> {
	const response = await fetch(url, {
		method: 'POST',
		headers: body === undefined ? {} : { 'content-type': 'application/json' },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const payload = (await response.json().catch(() => null)) as { message?: string } | null;
	if (!response.ok) throw new Error(payload?.message ?? `${url} answered HTTP ${response.status}.`);
	return payload as T;
}

/** Starts this session's story unless it is already running (safe to call on every load). */
export const startStory = () => post<{ ok: true }>('/api/story', { action: 'start' });

/** The reader's answer, 1 to 200 characters; the server echoes it as a `story` event. */
export const replyToStory = (reply: string) => post<{ ok: true }>('/api/story', { reply });

/** Bumps the shared counter; everyone sees it through the `broadcast` topic. */
export const highFive = () => post<{ count: number }>('/api/broadcast');

/** Makes the server cut this session's streams, to watch the client resume and replay. */
export const dropConnection = () => post<{ dropped: number }>('/api/drop');

/** The hub's figures and counters (`hub.stats()`), for the stats panel. */
export async function getStats(): Promise<HubStats> {
	const response = await fetch('/api/stats');
	if (!response.ok) throw new Error(`/api/stats answered HTTP ${response.status}.`);
	return (await response.json()) as HubStats;
}
