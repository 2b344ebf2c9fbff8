// The hub's event ids: `<epoch>-<seq>`, the position a client resumes from.

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
