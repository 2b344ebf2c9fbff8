// The shared store's live feed: listening to it, and catching streams up after an interruption.
import type { HistoryStore, StoredEvent } from '../history/index.js';
import type { ReplayWriter } from '../replay/index.js';
import { encodeControl, encodePosition, formatEventId } from '../wire/index.js';
import type { OpenStreams } from './open-streams.js';
import { cursorRecordOf, type HubStream } from './stream.js';

export interface SharedFeedOptions {
	store: HistoryStore;
	streams: OpenStreams;
	replay: ReplayWriter;
	/** Where the feed's events go. */
	onEvent: (stored: StoredEvent) => void;
	/** Told of each `sse:gap` notice a catch-up sends (a new epoch). */
	onGap?: (reason: 'epoch') => void;
	onError: (error: unknown) => void;
}

/**
 * With a store shared by several processes, live events come from its feed (ours included),
 * so a client on any process gets what any process publishes. Streams wait until it listens.
 *
 * While the feed is in doubt (the store lost a connection, so events may go by unseen), every
 * open stream, and every stream opened meanwhile, holds its live events. Once the feed is whole
 * again, each catches up from history after the last event it was sent (a stream still writing
 * its replay, once that is written), then sends what it held, each event once and in order.
 */
export class SharedFeed {
	readonly #options: SharedFeedOptions;
	#listening: Promise<(() => Promise<void>) | null>;
	#stopped = false;
	/** The current attempt to listen has succeeded. */
	#listened = false;
	/** From the store's `onDoubt` to its `onResync`. */
	#inDoubt = false;
	/** Counts resyncs, so a catch-up can tell that a newer one needs it to read again. */
	#resyncs = 0;
	/** The epoch as read for the latest resync, shared by the streams' catch-ups. */
	#epoch: Promise<string> | undefined;
	/**
	 * Streams whose catch-up is under way (waiting for their replay included). Weak: a stream
	 * whose replay failed never ends that wait, and must not be kept for it.
	 */
	readonly #catchingUp = new WeakSet<HubStream>();

	constructor(options: SharedFeedOptions) {
		this.#options = options;
		this.#listening = this.#listen();
		this.#listening.catch(options.onError); // nothing waits on the first attempt yet
	}

	#listen() {
		const { store, onEvent } = this.#options;
		// A new attempt (an earlier one failed, so no stream was let in): the store says if in doubt.
		this.#inDoubt = false;
		const attempt = store.listen
			? store.listen({
					onEvent,
					onDoubt: () => this.#doubt(),
					onResync: () => this.#resync(),
				})
			: Promise.resolve(null);
		attempt.then(
			() => {
				if (this.#listening === attempt) this.#listened = true;
			},
			() => {}, // a connection that waits on it reports the failure
		);
		return attempt;
	}

	/** Whether the feed listens already, so that a new stream need not wait for it. */
	get listening(): boolean {
		return this.#listened;
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

	/**
	 * A stream just opened: while the feed is in doubt, its replay may end before events the
	 * feed missed, so it is held like the others.
	 */
	track(stream: HubStream): void {
		if (this.#inDoubt) stream.holdForFeed();
	}

	/** Stops listening; the feed is not listened to again. */
	async stop(): Promise<void> {
		this.#stopped = true;
		const stopListening = await this.#listening.catch(() => null);
		await stopListening?.();
	}

	#doubt(): void {
		this.#inDoubt = true;
		for (const stream of this.#options.streams) stream.holdForFeed();
	}

	#resync(): void {
		this.#inDoubt = false;
		this.#resyncs++;
		this.#epoch = undefined;
		for (const stream of this.#options.streams) {
			if (stream.heldByFeed && !this.#catchingUp.has(stream)) {
				this.#catchingUp.add(stream);
				void this.#settle(stream).finally(() => this.#catchingUp.delete(stream));
			}
		}
	}

	/** Catches a held stream up once its replay is written, then lets its live events through. */
	async #settle(stream: HubStream): Promise<void> {
		const { connection } = stream;
		try {
			await stream.replayed();
			// Until a catch-up ran with no doubt since it began: one that a new doubt overtook may
			// have read before what that doubt missed. (Still in doubt: the next resync settles it.)
			while (!this.#inDoubt && !connection.closed) {
				const resync = this.#resyncs;
				this.#epoch ??= this.#options.store.epoch();
				const epoch = await this.#epoch;
				if (!(await this.#catchUp(stream, epoch))) return;
				if (resync === this.#resyncs && !this.#inDoubt) {
					stream.releaseFeedHold();
					return;
				}
			}
		} catch (error) {
			this.#options.onError(error);
			connection.abort('error'); // it reconnects and resumes from its position
		}
	}

	/**
	 * Writes what `stream` missed while the feed was in doubt; whether its connection is
	 * still open.
	 */
	async #catchUp(stream: HubStream, epoch: string): Promise<boolean> {
		const { registration } = stream;
		if (stream.connection.closed) return false;
		if (registration.epoch !== epoch) {
			// A new lifetime (Redis restarted empty): the stream's `seq` counts in the old one, its
			// cursor record is gone, and so is whatever the feed had not delivered before the
			// failure. Announce the gap, register again, then send the new epoch from its start.
			// (All of the new epoch goes out: no topic of it is partial, `added` or not.)
			Object.assign(registration, { epoch, position: 0, added: [] });
			stream.lastSeq = 0;
			const topics = stream.topics;
			// The new epoch's start as the stream's position: a drop before its first event resumes
			// from there, not from an id of the old epoch (which would be a second gap).
			const start = encodePosition(formatEventId(epoch, 0));
			stream.connection.write(`${encodeControl('sse:gap', { reason: 'epoch', topics })}${start}`);
			this.#options.onGap?.('epoch');
			const record = cursorRecordOf(registration, topics, null);
			await this.#options.store.setCursorRecord(stream.session, record);
		}
		const cursors = stream.topics.map((topic) => ({ topic, after: stream.lastSeq }));
		return (await this.#options.replay.writeHistory(stream, cursors)) !== null;
	}
}
