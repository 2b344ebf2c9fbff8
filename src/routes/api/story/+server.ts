import { error, json } from '@sveltejs/kit';
import { hub } from '$demo/server/hub.server.js';
import { replyToStory, startStory } from '$demo/server/story.server.js';
import type { RequestHandler } from './$types.js';

/** `{ "action": "start" }` starts this session's story; `{ "reply": "…" }` answers it. */
export const POST: RequestHandler = async (event) => {
	const session = await hub.sessionOf(event);
	if (!session) error(401, 'No session.');
	const body = (await event.request.json().catch(() => null)) as {
		action?: unknown;
		reply?: unknown;
	} | null;
	if (body?.action === 'start') {
		startStory(session);
		return json({ ok: true });
	}
	const reply = typeof body?.reply === 'string' ? body.reply.trim() : '';
	if (reply.length === 0 || reply.length > 200) {
		error(400, 'Send { "action": "start" } or { "reply": "…" } with 1 to 200 characters.');
	}
	await replyToStory(session, reply);
	return json({ ok: true });
};
