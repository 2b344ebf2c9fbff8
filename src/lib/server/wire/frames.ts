// Encoded frames, shared: what many streams send is encoded and joined once, not once per stream.

import { concatBytes } from './bytes.js';
import { frame } from './encode.js';

/** What a frame is made of: a stored event has these (and more). */
export interface FramedEvent {
	readonly id: string;
	readonly topic: string;
	/** JSON text. */
	readonly data: string;
}

const encoder = new TextEncoder();

/** One frame per stored event: a publish is encoded once, not once per subscriber. */
const frames = new WeakMap<FramedEvent, Uint8Array>();

export function encodeStored(event: FramedEvent): Uint8Array {
	let bytes = frames.get(event);
	if (!bytes) {
		bytes = encoder.encode(frame(event.topic, event.data, event.id));
		frames.set(event, bytes);
	}
	return bytes;
}

/**
 * Recently joined runs of frames. A reconnect storm brings thousands of clients back from the
 * same position, and a tick's events go to every stream of a topic: they share one copy of
 * each run instead of making one each. A few slots, overwritten in turn, and only runs of
 * modest size, so what is kept stays small.
 */
interface Run {
	events: readonly FramedEvent[];
	chunk: Uint8Array;
}
const runs: Array<Run | undefined> = new Array(32);
let nextSlot = 0;
const MAX_RUN_BYTES = 128 * 1024;

/** A run of the same events, compared by id (`<epoch>-<seq>`: unique across restarts too). */
function findRun(events: readonly FramedEvent[]): Uint8Array | undefined {
	const { length } = events;
	const firstId = (events[0] as FramedEvent).id;
	const lastId = (events[length - 1] as FramedEvent).id;
	for (const run of runs) {
		if (!run || run.events.length !== length || run.events[0]?.id !== firstId) continue;
		if (run.events[length - 1]?.id !== lastId) continue;
		let same = true;
		for (let i = 1; i < length - 1 && same; i++) {
			same = run.events[i]?.id === (events[i] as FramedEvent).id;
		}
		if (same) return run.chunk;
	}
	return undefined;
}

/** The frames of `events` as one chunk, shared with whoever asks for the same events. */
export function joinFrames(events: readonly FramedEvent[]): Uint8Array {
	const [first] = events;
	if (first === undefined) return new Uint8Array(0);
	if (events.length === 1) return encodeStored(first);
	const known = findRun(events);
	if (known) return known;

	const parts = events.map(encodeStored);
	const chunk = concatBytes(
		parts,
		parts.reduce((total, part) => total + part.length, 0),
	);
	if (chunk.length <= MAX_RUN_BYTES) {
		runs[nextSlot] = { events, chunk };
		nextSlot = (nextSlot + 1) % runs.length;
	}
	return chunk;
}
