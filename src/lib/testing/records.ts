import type { CursorRecord } from '../server/history/index.js';

/** A cursor record with the fields every store keeps, for tests that build them by hand. */
export const record = (
	connection: string,
	topics: string[],
	from: number,
	to: number | null,
): CursorRecord => ({ connection, topics, from, to });
