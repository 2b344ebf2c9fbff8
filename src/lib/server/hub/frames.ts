// Encoded frames, shared: what many streams send is encoded and joined once, not once per stream.
import type { StoredEvent } from '../history/store.js';
import { frame } from '../wire.js';

const encoder = new TextEncoder();

/** One frame per stored event: a publish is encoded once, not once per subscriber. */
const frames = new WeakMap<StoredEvent, Uint8Array>();

export function encodeStored(event: StoredEvent): Uint8Array {
	let bytes = frames.get(event);
	if (!bytes) {
		bytes = encoder.encode(frame(event.topic, event.data, event.id));
		frames.set(event, bytes);
	}
	return bytes;
}

/**
 * Recently joined runs of frames, by the events they hold. A reconnect storm brings thousands
 * of clients back from the same position, and a tick's events go to every stream of a topic:
 * they share one copy of each run instead of making one each. Bounded by count and bytes.
 */
const recentRuns = new Map<string, Uint8Array>();
const MAX_RUNS = 64;
const MAX_RUN_BYTES = 4 * 1024 * 1024;
let recentBytes = 0;

/** The frames of `events` as one chunk, shared with whoever asks for the same events. */
export function joinFrames(events: readonly StoredEvent[]): Uint8Array {
	const [first] = events;
	if (first === undefined) return new Uint8Array(0);
	if (events.length === 1) return encodeStored(first);
	// The first id names the epoch; within it, seqs name the events.
	let key = first.id;
	for (let i = 1; i < events.length; i++) key += `,${(events[i] as StoredEvent).seq}`;
	let chunk = recentRuns.get(key);
	if (chunk) return chunk;

	const parts = events.map(encodeStored);
	chunk = new Uint8Array(parts.reduce((total, part) => total + part.length, 0));
	let offset = 0;
	for (const part of parts) {
		chunk.set(part, offset);
		offset += part.length;
	}
	if (chunk.length <= MAX_RUN_BYTES / 4) remember(key, chunk);
	return chunk;
}

function remember(key: string, chunk: Uint8Array): void {
	recentRuns.set(key, chunk);
	recentBytes += chunk.length;
	for (const [oldest, bytes] of recentRuns) {
		if (recentRuns.size <= MAX_RUNS && recentBytes <= MAX_RUN_BYTES) break;
		recentRuns.delete(oldest);
		recentBytes -= bytes.length;
	}
}
