import { error, json } from '@sveltejs/kit';
import type { RequestHandler } from './$types.js';
import { hub } from './hub.js';

export const GET = hub.handler();

/** Publishes a note to every open page: `POST /api/events` with `{ "text": "…" }`. */
export const POST: RequestHandler = async ({ request }) => {
	const body: unknown = await request.json().catch(() => null);
	const text = (body as { text?: unknown } | null)?.text;
	if (typeof text !== 'string' || text.length === 0 || text.length > 500) {
		error(400, 'Send { "text": "…" } with 1 to 500 characters.');
	}
	return json({ id: await hub.publish('notes', { text }) });
};
