/**
 * The SSE wire format (WHATWG HTML, "Server-sent events", §9.2.5–9.2.6) as pure functions:
 * fields in, spec-exact text out. Nothing here does I/O.
 *
 * The spec splits a stream into lines on CR, LF or CRLF, so a field value that contains any
 * of them would end its line early and let the rest be read as new fields (frame injection).
 * Data is always JSON, whose encoder escapes CR and LF inside strings, so one event is always
 * one `data:` line. Names and ids are checked instead, because they are written raw.
 */

/** Control events (`sse:gap`, `sse:ready`) use this prefix; user topics may not. */
export const RESERVED_PREFIX = 'sse:';

/** Longest topic name the protocol accepts. */
export const MAX_TOPIC_LENGTH = 128;

const TOPIC_NAME = /^[A-Za-z0-9_.:-]+$/;
// CR, LF and NUL: the spec's line terminators, and the character the spec says makes a
// browser ignore an `id` field.
const UNSAFE_FIELD = /[\r\n\0]/;

/** Why a topic name is refused, or `null` when it is a valid user topic name. */
export function topicNameProblem(name: unknown): string | null {
	if (typeof name !== 'string' || name.length === 0)
		return 'a topic name must be a non-empty string';
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

/**
 * One event frame from already-checked parts. `json` must come from `serializeData` (it holds
 * no raw line breaks); `event` and `id` must have passed the checks above.
 */
export function frame(event: string, json: string, id?: string): string {
	return id === undefined
		? `event: ${event}\ndata: ${json}\n\n`
		: `id: ${id}\nevent: ${event}\ndata: ${json}\n\n`;
}

/** A user event frame: checks the name and id, serializes the data. */
export function encodeEvent(event: string, data: unknown, id?: string): string {
	assertTopicName(event);
	if (id !== undefined) assertEventId(id);
	return frame(event, serializeData(data), id);
}

/** A control event frame (`sse:gap`, `sse:ready`): no id, so it never moves the client's position. */
export function encodeControl(name: `${typeof RESERVED_PREFIX}${string}`, data: unknown): string {
	return frame(name, serializeData(data));
}

/**
 * A position frame: an `id:` field and no data. By the spec it sets the client's last event id
 * (sent back as `Last-Event-ID` on a reconnect) without dispatching an event, so a stream has a
 * position before its first event. (The `eventsource` package ignores it; `SSEClient` also
 * reads the position from `sse:ready`.)
 */
export function encodePosition(id: string): string {
	assertEventId(id);
	return `id: ${id}\n\n`;
}

/** A comment line: ignored by clients, but it keeps proxies from closing an idle stream. */
export function encodeComment(text: string): string {
	if (UNSAFE_FIELD.test(text)) throw new TypeError('An SSE comment may not contain CR, LF or NUL.');
	return `: ${text}\n\n`;
}

/** The reconnection time hint, in milliseconds. */
export function encodeRetry(ms: number): string {
	if (!Number.isInteger(ms) || ms < 0) {
		throw new TypeError(`retry must be a non-negative integer of milliseconds, got ${ms}.`);
	}
	return `retry: ${ms}\n\n`;
}

/** A position in a hub's history: which store lifetime (`epoch`) and how far (`seq`). */
export interface EventPosition {
	epoch: string;
	seq: number;
}

const EVENT_ID = /^([A-Za-z0-9_]+)-(\d{1,15})$/;

/** `<epoch>-<seq>`, the id of every event a hub sends. */
export function formatEventId(epoch: string, seq: number): string {
	return `${epoch}-${seq}`;
}

/** Reads an id written by `formatEventId`; anything else is `null` (a "malformed" gap). */
export function parseEventId(id: string): EventPosition | null {
	const match = EVENT_ID.exec(id);
	if (!match) return null;
	const seq = Number(match[2]);
	return Number.isSafeInteger(seq) ? { epoch: match[1] as string, seq } : null;
}
