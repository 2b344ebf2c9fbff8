// The hub's refusals the SvelteKit way: in a form action `fail(400, { code, message, issues })`,
// in an endpoint or `load` `error(400, { message, code, issues })`, with the fields of the
// refusal JSON's `error` object. Only the caller's fault (a 4xx) is turned; anything else (Redis
// down, a closed hub, a bug) is rethrown, so Kit's `handleError` logs it and answers 500.
import { type ActionFailure, error, fail } from '@sveltejs/kit';
import {
	type SchemaIssue,
	SSEHubError,
	type SSEHubErrorCode,
	SSEValidationError,
} from './errors.js';

/** One problem a schema found, made plain for a form (a path of keys, e.g. `['text']`). */
export interface SSEIssue {
	message: string;
	path?: (string | number)[];
}

/** What a refused publish answers with: the fields of the refusal JSON's `error` object. */
export interface SSERefusal {
	code: SSEHubErrorCode;
	message: string;
	/** What the topic's schema found wrong (`invalid_data` from a schema). */
	issues?: SSEIssue[];
	/** The topic whose data was refused. */
	topic?: string;
	/** The topics refused (`unknown_topic`, say). */
	topics?: string[];
}

/**
 * For a form action: a refusal that is the caller's fault becomes `fail(status, refusal)` (so the
 * page gets `form.issues`, `form.message`, `form.code`); anything else is rethrown.
 *
 * ```ts
 * try {
 *   await hub.publish('chat', { text: String(data.get('text')) });
 * } catch (e) {
 *   return actionFailure(e);
 * }
 * ```
 */
export function actionFailure(caught: unknown): ActionFailure<SSERefusal> {
	const refusal = callersFault(caught);
	return fail(refusal.status, refusal.body);
}

/**
 * For an endpoint (`+server.ts`) or a `load`: a refusal that is the caller's fault is thrown as
 * Kit's `error(status, refusal)` (JSON `{ message, code, issues }` to a `fetch`, the error page to
 * a browser); anything else is rethrown. `await hub.publish(topic, data).catch(httpError)`.
 */
export function httpError(caught: unknown): never {
	const refusal = callersFault(caught);
	// `App.Error` is the app's to declare; the README shows `code` and `issues` added to it.
	error(refusal.status, refusal.body as App.Error);
}

/** The refusal's status and fields, or the caught value rethrown when it is not the caller's fault. */
function callersFault(caught: unknown): { status: number; body: SSERefusal } {
	if (!(caught instanceof SSEHubError) || caught.status < 400 || caught.status > 499) throw caught;
	const body: SSERefusal = { ...caught.details, code: caught.code, message: caught.message };
	if (caught instanceof SSEValidationError) body.issues = caught.issues.map(plainIssue);
	return { status: caught.status, body };
}

/** A Standard Schema issue with only what a form shows: no symbols (not serializable), no input. */
function plainIssue(issue: SchemaIssue): SSEIssue {
	const plain: SSEIssue = { message: issue.message };
	if (issue.path) {
		plain.path = issue.path.map((segment) => {
			const key = typeof segment === 'object' ? segment.key : segment;
			return typeof key === 'number' ? key : String(key);
		});
	}
	return plain;
}
