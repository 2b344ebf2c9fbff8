// Cursor records for tests, built with defaults so a test names only what it is about.
import type { CursorRecord } from '../server/history/index.js';

/** A cursor record with the fields every store keeps, for tests that build them by hand. */
export const record = (
	connection: string,
	topics: string[],
	from: number,
	to: number | null,
): CursorRecord => ({ connection, topics, from, to });
