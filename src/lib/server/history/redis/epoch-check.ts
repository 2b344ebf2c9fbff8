// How a process tells that Redis went back in time: the highest `seq` it has seen in the epoch
// it saw last, handed to every script that may start a new epoch; and the epoch and head, read
// once per turn.
import { text } from './client.js';
import type { RedisConnection } from './connection.js';
import { scripts } from './scripts.js';

export class EpochCheck {
	// The highest seq this process has seen, in the epoch it saw last: a head below it in that epoch
	// means Redis went back in time (a snapshot loaded), and the next append starts a new epoch.
	readonly #seen = { epoch: '', seq: 0 };
	#metaThisTurn: Promise<[string, number]> | undefined;

	constructor(
		readonly connection: RedisConnection,
		readonly keepEpochOnRestart: boolean,
	) {}

	/** The epoch this process saw last ('' before it has seen one). */
	get seenEpoch(): string {
		return this.#seen.epoch;
	}

	/** Notes a position Redis reported or the feed brought. */
	saw(epoch: string, seq: number): void {
		const seen = this.#seen;
		if (epoch !== seen.epoch) Object.assign(seen, { epoch, seq });
		else if (seq > seen.seq) seen.seq = seq;
	}

	/** What the scripts that can start a new epoch need to tell whether Redis went back. */
	wentBackArgs(): string[] {
		return [this.keepEpochOnRestart ? '1' : '0', this.#seen.epoch, String(this.#seen.seq)];
	}

	/**
	 * The epoch and head (after a new epoch if Redis went back in time), one script for the calls
	 * made in the same turn (`epoch()` and `head()` side by side cost one round trip). Not shared
	 * past it: a call that began earlier could answer with a head older than an event the caller
	 * has since seen.
	 */
	meta(): Promise<[string, number]> {
		if (this.#metaThisTurn) return this.#metaThisTurn;
		this.#metaThisTurn = (async () => {
			const [epoch, head] = (await this.connection.run(scripts.meta, this.wentBackArgs())) as [
				unknown,
				unknown,
			];
			this.saw(text(epoch), Number(head));
			return [text(epoch), Number(head)] as [string, number];
		})();
		queueMicrotask(() => {
			this.#metaThisTurn = undefined;
		});
		return this.#metaThisTurn;
	}
}
