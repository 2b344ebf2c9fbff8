// What may be written raw into an SSE field, and data as JSON. The spec (WHATWG HTML §9.2.6)
// splits a stream into lines on CR, LF or CRLF, so a field value that contains any of them would
// end its line early and let the rest be read as new fields (frame injection). Data is always
// JSON, whose encoder escapes CR and LF inside strings, so one event is always one `data:` line.
// Names and ids are checked instead, because they are written raw.

/** Control events (`sse:gap`, `sse:ready`) use this prefix; user topics may not. */
export const RESERVED_PREFIX = 'sse:';

/** Longest topic name the protocol accepts. */
export const MAX_TOPIC_LENGTH = 128;

const TOPIC_NAME = /^[A-Za-z0-9_.:-]+$/;
// [spec] CR, LF and NUL: the spec's line terminators, and the character the spec says makes a
// browser ignore an `id` field.
export const UNSAFE_FIELD = /[\r\n\0]/;

/** Why a topic name is refused, or `null` when it is a valid user topic name. */
export function topicNameProblem(name: unknown): string | null {
	if (typeof name !== 'string' || name.length === 0)
		return 'a topic name must be a non-empty string';
	// [spec] The name is written raw as the `event:` field, the type the client dispatches under.
	if (UNSAFE_FIELD.test(name)) return 'a topic name may not contain CR, LF or NUL';
	if (name.startsWith(RESERVED_PREFIX))
		return `"${RESERVED_PREFIX}" is reserved for control events`;
	if (name.length > MAX_TOPIC_LENGTH)
		return `a topic name is at most ${MAX_TOPIC_LENGTH} characters`;
	if (!TOPIC_NAME.test(name)) return 'a topic name uses only letters, digits and _ . : -';
	return null;
}

/** Throws a `TypeError` naming the problem unless `name` is a valid user topic name. */
export function assertTopicName(name: unknown): asserts name is string {
	const problem = topicNameProblem(name);
	if (problem) throw new TypeError(`Invalid SSE event name ${JSON.stringify(name)}: ${problem}.`);
}

/** Throws a `TypeError` unless `id` can be written as one `id:` field. */
export function assertEventId(id: unknown): asserts id is string {
	if (typeof id !== 'string') throw new TypeError('An SSE event id must be a string.');
	// [spec] An `id:` value with NUL is ignored (the client would keep its old position without a
	// word), and CR or LF would end the line: refuse both rather than send what is lost.
	if (UNSAFE_FIELD.test(id)) {
		throw new TypeError(
			`Invalid SSE event id ${JSON.stringify(id)}: it may not contain CR, LF or NUL.`,
		);
	}
}

/** `JSON.stringify` that refuses what JSON cannot carry instead of writing `data: undefined`. */
export function serializeData(data: unknown): string {
	let json: string | undefined;
	try {
		// [spec] A `data:` value ends at CR or LF; JSON escapes both, so the data is one line.
		json = JSON.stringify(data);
	} catch (cause) {
		throw new TypeError(`SSE event data is not JSON-serializable: ${(cause as Error).message}`, {
			cause,
		});
	}
	if (json === undefined) {
		throw new TypeError(`SSE event data is not JSON-serializable (got ${typeof data}).`);
	}
	return json;
}
