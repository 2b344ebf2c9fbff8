// The shared store's live feed: listening to it, and catching streams up after an interruption.
import type { HistoryStore, StoredEvent } from '../history/store.js';
import { encodeControl } from '../wire.js';
import type { SubscriberRegistry } from './registry.js';
import type { ReplayWriter } from './replay-writer.js';
import type { Subscriber } from './subscriber.js';

export interface SharedFeedOptions {
	store: HistoryStore;
	registry: SubscriberRegistry;
	replay: ReplayWriter;
	/** Where the feed's events go. */
	onEvent: (stored: StoredEvent) => void;
	onError: (error: unknown) => void;
}

/**
 * With a store shared by several processes, live events come from its feed (ours included),
 * so a client on any process gets what any process publishes. Streams wait until it listens.
 */
export class SharedFeed {
	readonly #options: SharedFeedOptions;
	#listening: Promise<(() => Promise<void>) | null>;
	#stopped = false;

	constructor(options: SharedFeedOptions) {
		this.#options = options;
		this.#listening = this.#listen();
		this.#listening.catch(options.onError); // nothing waits on the first attempt yet
	}

	#listen() {
		const { store, onEvent } = this.#options;
		const attempt = store.subscribe
			? store.subscribe({ onEvent, onResync: () => this.#resync() })
			: Promise.resolve(null);
		attempt.catch(() => {}); // a connection that waits on it reports the failure
		return attempt;
	}

	/** Resolves once the feed listens; a failed attempt (Redis down at start) is made again. */
	async untilListening(): Promise<void> {
		const current = this.#listening;
		try {
			await current;
		} catch {
			if (this.#listening === current && !this.#stopped) this.#listening = this.#listen();
			await this.#listening;
		}
	}

	/** Stops listening; the feed is not listened to again. */
	async stop(): Promise<void> {
		this.#stopped = true;
		const stopListening = await this.#listening.catch(() => null);
		await stopListening?.();
	}

	/**
	 * The shared store's live feed was interrupted (Redis restarted, say) and may have missed
	 * events: every open stream catches up from history, holding live events meanwhile.
	 */
	#resync(): void {
		const held: Subscriber[] = [];
		for (const subscriber of this.#options.registry) {
			if (!subscriber.live) continue;
			subscriber.holdLive();
			held.push(subscriber);
		}
		if (held.length === 0) return;
		const abort = (subscriber: Subscriber) => (error: unknown) => {
			this.#options.onError(error);
			subscriber.connection.abort('error'); // it reconnects and resumes from its position
		};
		this.#options.store.epoch().then(
			(epoch) => {
				for (const subscriber of held) this.#catchUp(subscriber, epoch).catch(abort(subscriber));
			},
			(error: unknown) => {
				for (const subscriber of held) abort(subscriber)(error);
			},
		);
	}

	/** Writes what `subscriber` missed while the feed was down, then lets live events through. */
	async #catchUp(subscriber: Subscriber, epoch: string): Promise<void> {
		const { registration } = subscriber;
		if (subscriber.connection.closed) return;
		if (registration.epoch !== epoch) {
			// A new lifetime (Redis restarted empty): the stream's `seq` counts in the old one, its
			// subscription record is gone, and so is whatever the feed had not delivered before the
			// failure. Announce the gap, register again, then send the new epoch from its start.
			Object.assign(registration, { epoch, from: 0, position: 0 });
			subscriber.lastSeq = 0;
			const topics = subscriber.topics;
			subscriber.connection.write(encodeControl('sse:gap', { reason: 'epoch', topics }));
			const record = { connection: registration.connection, topics, from: 0, to: null };
			await this.#options.store.setSubscription(subscriber.session, record);
		}
		const cursors = subscriber.topics.map((topic) => ({ topic, after: subscriber.lastSeq }));
		const { replay } = this.#options;
		if ((await replay.writeHistory(subscriber, cursors)) !== null) subscriber.goLive();
	}
}
