// Encoded frames, shared: what many streams send is encoded and joined once, not once per stream.
import { frame } from './encode.js';

/** What a frame is made of: a stored event has these (and more). */
export interface FramedEvent {
	readonly id: string;
	readonly topic: string;
	/** JSON text. */
	readonly data: string;
}

const encoder = new TextEncoder();

/** What `frame` adds to an event's id, topic and data: `id: `, `\nevent: `, `\ndata: `, `\n\n`. */
const FRAME_FIELDS_LENGTH = 4 + 8 + 7 + 2;

/**
 * The length of the frame of `event` in UTF-16 code units: its length in bytes when it is ASCII,
 * and never less than a third of it. Cheap enough to size every event of a replay with, where
 * encoding each one would cost as much as sending it.
 */
export function frameLength(event: FramedEvent): number {
	return event.id.length + event.topic.length + event.data.length + FRAME_FIELDS_LENGTH;
}

/**
 * Recently joined runs of frames. A tick's events go to every stream of a topic, and a reconnect
 * storm brings thousands of clients back from the same position: they share one copy of each run
 * instead of making one each. A stored event keeps no frame of its own (it would cost more than
 * the event), so this is also what saves encoding an event again for every stream it goes to. A
 * few slots, overwritten in turn, and only runs of modest size, so what is kept stays small.
 */
interface Run {
	events: readonly FramedEvent[];
	chunk: Uint8Array;
}
const runs: Array<Run | undefined> = new Array(32);
let nextSlot = 0;
const MAX_RUN_BYTES = 128 * 1024;

/**
 * Whether two events make the same frame. Ids alone would do for the stores here (`<epoch>-<seq>`
 * is unique across restarts), but the cache is shared by every hub of the process, whatever store
 * it has: the topic and data are compared too, mostly as the same strings, so cheaply.
 */
function sameFrame(a: FramedEvent | undefined, b: FramedEvent): boolean {
	return a !== undefined && a.id === b.id && a.topic === b.topic && a.data === b.data;
}

/** A run of the same events, or `undefined`. */
function findRun(events: readonly FramedEvent[]): Uint8Array | undefined {
	const { length } = events;
	const first = events[0] as FramedEvent;
	const last = events[length - 1] as FramedEvent;
	for (const run of runs) {
		if (!run || run.events.length !== length || !sameFrame(run.events[0], first)) continue;
		if (!sameFrame(run.events[length - 1], last)) continue;
		let same = true;
		for (let i = 1; i < length - 1 && same; i++) {
			same = sameFrame(run.events[i], events[i] as FramedEvent);
		}
		if (same) return run.chunk;
	}
	return undefined;
}

/** The frames of `events` as one chunk, shared with whoever asks for the same events. */
export function joinFrames(events: readonly FramedEvent[]): Uint8Array {
	if (events.length === 0) return new Uint8Array(0);
	const known = findRun(events);
	if (known) return known;
	// One text, encoded once: cheaper than a buffer per frame joined afterwards.
	let text = '';
	for (const event of events) text += frame(event.topic, event.data, event.id);
	const chunk = encoder.encode(text);
	if (chunk.length <= MAX_RUN_BYTES) {
		runs[nextSlot] = { events, chunk };
		nextSlot = (nextSlot + 1) % runs.length;
	}
	return chunk;
}
