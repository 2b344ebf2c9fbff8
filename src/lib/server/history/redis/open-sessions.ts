// The sessions with a connection open on this process, kept alive in Redis by a heartbeat while
// it runs (memoryHistory keeps open sessions forever; here a crashed process's open records age
// out instead).
import type { CursorRecord } from '../store.js';
import type { RedisConnection } from './connection.js';
import { scripts } from './scripts.js';

export class OpenSessions {
	/** Session → its connections open on this process. */
	readonly #open = new Map<string, Set<string>>();
	#heartbeat: ReturnType<typeof setInterval> | undefined;

	constructor(
		readonly connection: RedisConnection,
		readonly sessionTtlMs: number,
	) {}

	/** Notes whether `record`'s connection is open, beating while any session is. */
	track(session: string, record: CursorRecord): void {
		const openHere = this.#open;
		const open = openHere.get(session) ?? new Set<string>();
		if (record.to === null) open.add(record.connection);
		else open.delete(record.connection);
		if (open.size > 0) openHere.set(session, open);
		else openHere.delete(session);
		if (openHere.size > 0 && !this.#heartbeat) {
			this.#heartbeat = setInterval(
				() => {
					if (openHere.size > 0)
						this.connection.run(scripts.heartbeat, [...openHere.keys()]).catch(() => {});
				},
				Math.max(10, this.sessionTtlMs / 3),
			);
			this.#heartbeat.unref?.();
		} else if (openHere.size === 0 && this.#heartbeat) {
			clearInterval(this.#heartbeat);
			this.#heartbeat = undefined;
		}
	}

	stop(): void {
		if (this.#heartbeat) clearInterval(this.#heartbeat);
		this.#heartbeat = undefined;
		this.#open.clear();
	}
}
