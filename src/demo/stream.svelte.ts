/**
 * The dashboard's state, kept from the shared client's events: a list per feed, the broadcast
 * panel's value, and the "Resumed — replayed N events" banner. Create it while a component
 * initialises (it uses `$effect`), so it stops listening when that component goes away.
 */
import { untrack } from 'svelte';
import type { SSEClient } from 'svelte-sse-kit';
import type { Snapshot } from 'svelte-sse-kit/server';
import { startStory } from './api.js';
import type { DemoTopics } from './topics.js';

type Topic = keyof DemoTopics;

export interface Entry<T> {
	/** Unique on this page, even across a server restart that reuses sequence numbers. */
	key: number;
	/** The SSE event id (`<epoch>-<seq>`). */
	id: string;
	data: T;
	/** Delivered by a replay (history or a resume) rather than live. */
	replayed: boolean;
}

let nextKey = 0;

/** The last `cap` events of one topic, newest first or in reading order. */
export class Feed<K extends Topic> {
	#entries = $state.raw<Entry<DemoTopics[K]>[]>([]);

	constructor(
		readonly topic: K,
		readonly order: 'newest-first' | 'oldest-first',
		readonly cap = 200,
	) {}

	get entries(): readonly Entry<DemoTopics[K]>[] {
		return this.#entries;
	}

	clear(): void {
		this.#entries = [];
	}

	add(id: string, data: DemoTopics[K], replayed: boolean): void {
		const entry = { key: nextKey++, id, data, replayed };
		this.#entries =
			this.order === 'newest-first'
				? [entry, ...this.#entries].slice(0, this.cap)
				: [...this.#entries, entry].slice(-this.cap);
	}
}

/** What started the replay under way: only a reconnect earns the "Resumed" banner. */
type ReplayCause = 'first' | 'reconnect' | 'topics';

/** How long the "Resumed" banner stays up. */
const BANNER_MS = 6000;

export class DemoStream {
	readonly story = new Feed('story', 'oldest-first');
	readonly notifications = new Feed('notifications', 'newest-first');
	readonly logs = new Feed('logs', 'newest-first');
	/** The latest `broadcast` event; until one arrives, the page's load data. */
	#broadcast = $state<DemoTopics['broadcast'] | null>(null);
	readonly #initialBroadcast: () => DemoTopics['broadcast'];
	#resumed = $state<number | null>(null);

	readonly #client: SSEClient<DemoTopics>;
	#cause: ReplayCause = 'first';
	#replayedSoFar = 0;
	#changingTopics = false;
	#storyStarted = false;
	#bannerTimer: ReturnType<typeof setTimeout> | undefined;
	/** The history lifetime the shown entries come from (the `<epoch>` of their ids). */
	#epoch: string | null = null;

	constructor(
		client: SSEClient<DemoTopics>,
		initialBroadcast: () => DemoTopics['broadcast'],
		snapshot?: Snapshot<DemoTopics, 'story' | 'notifications' | 'logs'>,
	) {
		this.#client = client;
		this.#initialBroadcast = initialBroadcast;
		// The page's server-rendered start; the client's stream begins right after it.
		for (const event of snapshot?.events ?? [])
			this.#feed(event.topic).add(event.id, event.data, false);
		if (snapshot)
			this.#epoch = snapshot.lastEventId.slice(0, snapshot.lastEventId.lastIndexOf('-'));
		// Registered now, before the layout's client connects on mount: no event can slip by.
		const stops = [
			client.on('story', (line, { id }) => this.story.add(id, line, this.#arrived(id))),
			client.on('notifications', (note, { id }) =>
				this.notifications.add(id, note, this.#arrived(id)),
			),
			client.on('logs', (line, { id }) => this.logs.add(id, line, this.#arrived(id))),
			client.on('broadcast', (state, { id }) => {
				this.#arrived(id);
				this.#broadcast = state;
			}),
		];
		$effect(() => () => {
			for (const stop of stops) stop();
			clearTimeout(this.#bannerTimer);
		});
		$effect(() => {
			const replaying = client.replaying;
			untrack(() => (replaying ? this.#replayStarted() : this.#replayEnded()));
		});
		$effect(() => {
			// The hub sets the session cookie on the first connect; the story needs it.
			if (client.status === 'connected') untrack(() => this.#startStoryOnce());
		});
	}

	/** The list of a topic, with the type of its entries. */
	#feed<K extends 'story' | 'notifications' | 'logs'>(topic: K): Feed<K> {
		return this[topic] as unknown as Feed<K>;
	}

	/** The shared counter, who bumped it last, and how many streams are open. */
	get broadcast(): DemoTopics['broadcast'] {
		return this.#broadcast ?? this.#initialBroadcast();
	}

	/** Events replayed by the last reconnect, while its banner is up; else null. */
	get resumed(): number | null {
		return this.#resumed;
	}

	dismissResumed(): void {
		clearTimeout(this.#bannerTimer);
		this.#resumed = null;
	}

	/** The POST answered before its own event arrived: show the count at once. */
	bumped(count: number): void {
		const current = this.broadcast;
		if (count > current.count) this.#broadcast = { ...current, count };
	}

	/** Subscribes to a feed or drops it; subscribing again brings the history it missed. */
	setTopic(topic: 'notifications' | 'logs', on: boolean): void {
		if (this.#client.topics.includes(topic) === on) return;
		// The client reopens its stream at once (unless it is closed): that replay is no reconnect.
		if (this.#client.status !== 'idle') this.#changingTopics = true;
		this.#client.updateTopics(on ? { addTopics: [topic] } : { removeTopics: [topic] });
	}

	/** Notes an event's arrival; returns whether it came in a replay. */
	#arrived(id: string): boolean {
		const epoch = id.slice(0, id.lastIndexOf('-'));
		if (this.#epoch !== null && epoch !== this.#epoch) this.#serverRestarted();
		this.#epoch = epoch;
		return this.#countReplay();
	}

	/**
	 * Events of a new history lifetime: the server restarted and lost its memory (the gap notice
	 * says so). What the page shows belongs to the old one: start afresh, story included, and
	 * do not call the new history a "resume".
	 */
	#serverRestarted(): void {
		this.story.clear();
		this.notifications.clear();
		this.logs.clear();
		this.#cause = 'first';
		this.#replayedSoFar = 0;
		this.#storyStarted = false;
		untrack(() => this.#startStoryOnce());
	}

	#countReplay(): boolean {
		const replaying = this.#client.replaying;
		if (replaying) this.#replayedSoFar++;
		return replaying;
	}

	#replayStarted(): void {
		if (this.#changingTopics) this.#cause = 'topics';
		else if (this.#cause !== 'first') this.#cause = 'reconnect';
		this.#changingTopics = false;
	}

	#replayEnded(): void {
		const count = this.#replayedSoFar;
		this.#replayedSoFar = 0;
		if (this.#client.status !== 'connected') return; // closed mid-replay: nothing to report
		if (this.#cause === 'reconnect' && count > 0) {
			clearTimeout(this.#bannerTimer);
			this.#resumed = count;
			this.#bannerTimer = setTimeout(() => (this.#resumed = null), BANNER_MS);
		}
		// From now on, a new replay means the stream came back (or the topics changed).
		this.#cause = 'reconnect';
	}

	#startStoryOnce(): void {
		if (this.#storyStarted) return;
		this.#storyStarted = true;
		startStory().catch((error: unknown) => {
			this.#storyStarted = false; // try again on the next connect
			console.warn('Could not start the story:', error);
		});
	}
}
