// The SSE wire format (WHATWG HTML, "Server-sent events", §9.2.5–9.2.6) as pure functions:
// fields in, spec-exact text out. Nothing here does I/O.
import {
	assertEventId,
	assertTopicName,
	type RESERVED_PREFIX,
	serializeData,
	UNSAFE_FIELD,
} from './fields.js';

/**
 * One event frame from already-checked parts. `json` must come from `serializeData` (it holds
 * no raw line breaks); `event` and `id` must have passed the checks above.
 */
export function frame(event: string, json: string, id?: string): string {
	// [spec] `field: value` lines, one space after the colon (the parser drops one); `event` sets
	// the type, `data` the data, `id` the last event ID buffer; the blank line dispatches it.
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
	// [spec] An event without an `id:` field leaves the last event ID buffer as it was.
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
	// [spec] A blank line with an empty data buffer dispatches nothing, but the id is kept.
	return `id: ${id}\n\n`;
}

/** A comment line: ignored by clients, but it keeps proxies from closing an idle stream. */
export function encodeComment(text: string): string {
	if (UNSAFE_FIELD.test(text)) throw new TypeError('An SSE comment may not contain CR, LF or NUL.');
	// [spec] A line that starts with a colon is a comment: the client ignores it.
	return `: ${text}\n\n`;
}

/** The reconnection time hint, in milliseconds. */
export function encodeRetry(ms: number): string {
	// [spec] A `retry:` value of ASCII digits only sets the reconnection time; any other is ignored.
	if (!Number.isInteger(ms) || ms < 0) {
		throw new TypeError(`retry must be a non-negative integer of milliseconds, got ${ms}.`);
	}
	return `retry: ${ms}\n\n`;
}
