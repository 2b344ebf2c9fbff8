// The calls of the Redis store that read and write history: `append`, `read`, the cursor
// records and `stats`, each one script (scripts.ts), its answer noted for the epoch check.
import { checkIdempotencyKey } from '../bounds.js';
import type {
	AppendedEvent,
	AppendInput,
	CursorRecord,
	HistoryStats,
	ReadQuery,
	ReadResult,
	StoredEvent,
} from '../store.js';
import { text } from './client.js';
import type { RedisConnection } from './connection.js';
import type { EpochCheck } from './epoch-check.js';
import type { OpenSessions } from './open-sessions.js';
import { scripts } from './scripts.js';

/** Cursor values as the read script takes them; odd numbers behave as in `memoryHistory`. */
function afterArg(after: number): string {
	if (after === Number.NEGATIVE_INFINITY) return '-1';
	return Number.isFinite(after) ? String(after) : 'inf';
}
function countArg(count: number): number {
	return Number.isNaN(count) ? 0 : Math.min(Math.max(Math.ceil(count), 0), 1_000_000);
}

export class RedisOperations {
	constructor(
		readonly connection: RedisConnection,
		readonly epochs: EpochCheck,
		readonly openSessions: OpenSessions,
		readonly config: { now: () => number; maxSessions: number },
	) {}

	async append({ topic, data, session, idempotencyKey }: AppendInput): Promise<AppendedEvent> {
		const key =
			idempotencyKey === undefined ? '' : checkIdempotencyKey('redisHistory', idempotencyKey);
		const time = this.config.now();
		const scoped = session !== undefined;
		const [epoch, seq, first] = (await this.connection.run(
			scripts.append,
			[
				topic,
				data,
				session ?? '',
				scoped ? '1' : '0',
				String(this.config.maxSessions),
				...this.epochs.wentBackArgs(),
				key,
			],
			time,
		)) as [unknown, unknown, unknown?];
		if (first !== undefined) {
			return { ...(JSON.parse(text(first)) as StoredEvent), duplicate: true };
		}
		this.epochs.saw(text(epoch), Number(seq));
		const event: StoredEvent = {
			seq: Number(seq),
			id: `${text(epoch)}-${Number(seq)}`,
			topic,
			data,
			time,
		};
		if (scoped) event.session = session;
		return event;
	}

	async read({ session, cursors, limit }: ReadQuery): Promise<ReadResult> {
		const args = [session, String(countArg(limit))];
		// A cursor with both `after` and `last` goes as two entries: the script reads a topic
		// once, from the lower start, and checks expiry on its `after` entries.
		for (const cursor of cursors) {
			if ('after' in cursor) args.push(cursor.topic, 'after', afterArg(cursor.after));
			if (cursor.last === undefined) continue;
			if (cursor.last === Number.POSITIVE_INFINITY) args.push(cursor.topic, 'last', 'all');
			else args.push(cursor.topic, 'last', String(countArg(cursor.last)));
		}
		const [epoch, head, expired, flat] = (await this.connection.run(scripts.read, args)) as [
			unknown,
			unknown,
			unknown[],
			unknown[],
		];
		this.epochs.saw(text(epoch), Number(head));
		const events: StoredEvent[] = [];
		for (let i = 0; i + 4 < flat.length; i += 5) {
			const seq = Number(flat[i]);
			const event: StoredEvent = {
				seq,
				id: `${text(epoch)}-${seq}`,
				topic: text(flat[i + 1]),
				data: text(flat[i + 2]),
				time: Number(text(flat[i + 3])),
			};
			if (Number(flat[i + 4]) === 1) event.session = session;
			events.push(event);
		}
		return { events, expired: expired.map(text) };
	}

	async setCursorRecord(session: string, record: CursorRecord): Promise<void> {
		const json = JSON.stringify({
			connection: record.connection,
			client: record.client,
			topics: record.topics,
			added: record.added,
			from: record.from,
			to: record.to,
		});
		await this.connection.run(scripts.setCursorRecord, [
			session,
			record.connection,
			record.to === null ? '0' : '1',
			json,
			String(this.config.maxSessions),
		]);
		this.openSessions.track(session, record);
	}

	async cursorRecords(session: string): Promise<CursorRecord[] | null> {
		const values = (await this.connection.run(scripts.cursorRecords, [session])) as
			| unknown[]
			| null;
		if (values === null || values === undefined) return null;
		return values
			.map((value) => JSON.parse(text(value)) as [number, number, CursorRecord])
			.sort((a, b) => a[0] - b[0])
			.map(([, , record]) => record);
	}

	async stats(): Promise<HistoryStats> {
		const [epoch, head, sessions, events] = (await this.connection.run(
			scripts.stats,
			[],
		)) as unknown[];
		this.epochs.saw(text(epoch), Number(head));
		return {
			epoch: text(epoch),
			head: Number(head),
			sessions: Number(sessions),
			events: Number(events),
		};
	}
}
