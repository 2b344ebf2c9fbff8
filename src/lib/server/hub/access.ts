// Who a request comes from, and which of its topics it may stream: the 401 and 403 refusals.
import type { RequestEvent } from '@sveltejs/kit';
import { SSEHubError } from '../errors.js';
import type { TopicMapOf } from '../transport/index.js';
import { cookieSession, type RequestSession, readCookieSession } from './request.js';
import type { SSEHubOptions } from './types.js';

export async function sessionOf<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
	event: RequestEvent,
): Promise<string | null> {
	const session = options.session
		? await options.session(event)
		: cookieSession(event.cookies, event.url, options.cookie);
	return session || null;
}

/**
 * A stream request's session, or the 401 refusal. The default one (a cookie) is read at once, and
 * a new one comes with the `Set-Cookie` line for the stream's response; an app's `session` hook
 * is awaited.
 */
export function resolveSession<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
	event: RequestEvent,
): RequestSession | Promise<RequestSession> {
	if (!options.session) return readCookieSession(event.cookies, event.url, options.cookie);
	return sessionOf(options, event).then((session) => {
		if (!session) {
			throw new SSEHubError(
				'unauthorized',
				401,
				'No session: sign in before subscribing to events.',
			);
		}
		return { id: session };
	});
}

export async function authorizeTopics<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
	event: RequestEvent,
	session: string,
	topics: string[],
) {
	if (!options.authorize) return topics;
	// The request's topics are declared ones: parseTopics refused any other.
	const verdict = await options.authorize({
		event,
		session,
		topics: topics as (keyof Topics & string)[],
	});
	if (verdict === true) return topics;
	const allowed = verdict === false ? [] : topics.filter((t) => verdict.allowedTopics.includes(t));
	if (allowed.length === 0) {
		throw new SSEHubError('forbidden', 403, `Not allowed to subscribe to: ${topics.join(', ')}.`, {
			topics,
		});
	}
	return allowed;
}
