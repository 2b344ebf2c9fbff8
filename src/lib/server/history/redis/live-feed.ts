// The live feed of the Redis store (`HistoryStore.listen`): one subscriber connection per store
// on the `live` channel, however many listen; a doubt when either connection is lost, a resync
// once both are back; and an epoch retired when the feed sees ids handed out again.
import type { LiveHandlers, StoredEvent } from '../store.js';
import { type RedisSubscriber, text } from './client.js';
import type { RedisConnection } from './connection.js';
import { settlesWithin, withinMs } from './deadline.js';
import type { EpochCheck } from './epoch-check.js';
import { scripts } from './scripts.js';

export class LiveFeed {
	readonly #listeners = new Set<LiveHandlers>();
	#subscriber: Promise<RedisSubscriber> | undefined;
	/** The subscriber connection once it listens: from then on, losing it or `client` is a doubt. */
	#listening: RedisSubscriber | undefined;
	#inDoubt = false;
	// Where the live feed is: pub/sub brings appends in seq order, so an id of the same epoch at or
	// below the last one means ids are being handed out again.
	#position: { epoch: string; seq: number } | undefined;
	#retired: string | undefined;

	constructor(
		readonly connection: RedisConnection,
		readonly epochs: EpochCheck,
		readonly config: { prefix: string; timeoutMs: number },
	) {}

	get #channel(): string {
		return `${this.config.prefix}live`;
	}

	/** `HistoryStore.listen`: resolves once the subscriber connection listens. */
	async listen(handlers: LiveHandlers): Promise<() => Promise<void>> {
		await this.connection.ready(); // even when the feed is already open: a caller must learn Redis is down
		this.#listeners.add(handlers);
		if (this.#inDoubt) handlers.onDoubt(); // joined a feed that is already missing events
		this.#subscriber ??= this.#openSubscriber();
		try {
			await this.#subscriber;
		} catch (error) {
			this.#listeners.delete(handlers);
			this.#subscriber = undefined;
			throw error;
		}
		let stopped = false;
		return async () => {
			if (stopped) return;
			stopped = true;
			this.#listeners.delete(handlers);
			if (this.#listeners.size === 0) await this.#closeSubscriber();
		};
	}

	/** Stops the feed for every listener (the store is closing). */
	async close(): Promise<void> {
		this.#listeners.clear();
		await this.#closeSubscriber();
	}

	/**
	 * A connection the feed relies on was lost: what is published meanwhile reaches neither the
	 * subscriber connection nor, until the command connection is back, a catch-up read.
	 */
	readonly #doubt = (): void => {
		if (!this.#listening || this.#inDoubt || this.connection.closed) return;
		this.#inDoubt = true;
		for (const handlers of this.#listeners) handlers.onDoubt();
		this.#settle(); // an error that left both connections up (node-redis drops `isReady` first)
	};

	/**
	 * Both connections are back (node-redis resubscribes before it reports 'ready'): everything
	 * from now on comes through the feed, and what it missed can be read, so listeners catch up.
	 */
	readonly #settle = (): void => {
		const listening = this.#listening;
		if (!listening || !this.#inDoubt || this.connection.closed) return;
		if (!this.connection.client.isReady || !listening.isReady) return;
		this.#inDoubt = false;
		for (const handlers of this.#listeners) handlers.onResync();
	};

	/**
	 * The feed saw the same ids twice: Redis went back in time with the epoch kept (restored from a
	 * snapshot with `keepEpochOnRestart`, say). Ends that epoch, then the streams catch up into the
	 * new one (`sse:gap` `epoch`); events still numbered in the old one are dropped meanwhile.
	 */
	#retire(epoch: string): void {
		if (this.#retired === epoch) return;
		this.#retired = epoch;
		this.connection.run(scripts.retire, [epoch]).then(
			() => this.#doubt(), // streams catch up into the new epoch (at once, both connections being up)
			() => {
				this.#retired = undefined; // Redis went away: its return brings a resync of its own
			},
		);
	}

	#onEvent(event: StoredEvent): void {
		const epoch = event.id.slice(0, event.id.lastIndexOf('-'));
		if (epoch === this.#retired) return;
		const last = this.#position;
		if (last && epoch === last.epoch && event.seq <= last.seq) {
			this.#retire(epoch);
			return;
		}
		this.#position = { epoch, seq: event.seq };
		if (epoch === this.epochs.seenEpoch) this.epochs.saw(epoch, event.seq);
		// Another lifetime began (flushed keys, a restart, a retired epoch): streams counting in the
		// old one must learn of it, however the feed itself fared. They hold this event meanwhile:
		// a doubt, resynced at once while both connections are up (else once they are back).
		if (last && epoch !== last.epoch) this.#doubt();
		for (const handlers of this.#listeners) handlers.onEvent(event);
	}

	async #openSubscriber(): Promise<RedisSubscriber> {
		const { connection } = this;
		const { timeoutMs } = this.config;
		await connection.ready();
		const sub = connection.client.duplicate();
		// Only while it is the feed: a connection being closed or given up on is nobody's doubt.
		sub.on('error', () => {
			if (this.#listening === sub) this.#doubt();
		});
		sub.on('ready', () => {
			if (this.#listening === sub) this.#settle();
		});
		const onMessage = (message: string) => {
			let event: StoredEvent;
			try {
				event = JSON.parse(text(message)) as StoredEvent;
			} catch {
				return; // not ours: someone else published on the channel
			}
			this.#onEvent(event);
		};
		const subscribed = (async () => {
			await sub.connect();
			await sub.subscribe(this.#channel, onMessage);
			// The epoch listened in, so that the first event of another one is noticed.
			const [epoch] = await this.epochs.meta();
			this.#position ??= { epoch, seq: 0 };
		})();
		try {
			await withinMs(subscribed, timeoutMs, `no subscription within ${timeoutMs} ms`);
		} catch (error) {
			sub.destroy();
			throw connection.unreachable(error);
		}
		this.#listening = sub;
		connection.client.on('error', this.#doubt);
		connection.client.on('ready', this.#settle);
		return sub;
	}

	async #closeSubscriber(): Promise<void> {
		const pending = this.#subscriber;
		this.#subscriber = undefined;
		this.#position = undefined;
		const sub = await pending?.catch(() => undefined);
		if (!sub) return;
		if (this.#listening === sub) {
			this.#listening = undefined;
			this.#inDoubt = false;
			this.connection.client.off('error', this.#doubt);
			this.connection.client.off('ready', this.#settle);
		}
		if (!sub.isReady) {
			sub.destroy();
			return;
		}
		// Unsubscribed first: Redis confirms it, where a closed socket is noticed whenever Redis
		// gets to it (another connection could still see this one counted as listening).
		const { timeoutMs } = this.config;
		const unsubscribed = await settlesWithin(sub.unsubscribe(this.#channel), timeoutMs);
		if (!(unsubscribed && (await settlesWithin(sub.close(), timeoutMs)))) sub.destroy();
	}
}
