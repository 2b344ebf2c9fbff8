// The world the model-based delivery test acts on, through the public API only: a hub (memory or
// Redis history) behind a real HTTP server that keeps its port across hub restarts, sessions
// (one cookie jar each), and SSEClients on the real `eventsource` package, every publish,
// delivery, gap and topic change recorded in a `DeliveryModel`.
import { EventSource, type EventSourceFetchInit } from 'eventsource';
import { SSEClient } from '../../src/lib/client/index.js';
import { redisHistory } from '../../src/lib/server/history/redis/index.js';
import {
	createSSEHub,
	type HistoryStore,
	memoryHistory,
	type NewTopicHistory,
	type SSEHub,
} from '../../src/lib/server/index.js';
import { type ClientRecord, DeliveryModel, type ModelEvent } from './delivery-model.js';
import { serveHandler, type TestServer } from './hub-server.js';
import { cookieFetch } from './sse-client.js';

export const TOPICS = ['a', 'b', 'c'] as const;
export type Topic = (typeof TOPICS)[number];
type Payload = { k: string };
export type Topics = Record<Topic, Payload>;

export interface Retention {
	maxLength: number;
	maxAgeMs: number;
	sessionTtlMs: number;
}

export interface WorldOptions {
	policy: NewTopicHistory;
	retention: Retention;
	/** Redis history at this URL and prefix; memory history when absent. */
	redis?: { url: string; prefix: string };
	/** Log every delivery among the operations. */
	trace?: boolean;
	/**
	 * Make the `eventsource` package honour id-only frames as the spec (and browsers) do: it
	 * ignores them, so a stream's position frame never becomes its Last-Event-ID. For telling
	 * that apart from other causes of a failure.
	 */
	specIds?: boolean;
}

export interface Session {
	name: string;
	id: string;
	fetch: ReturnType<typeof cookieFetch>;
}

export interface Tab {
	name: string;
	session: Session;
	client: SSEClient<Topics>;
	record: ClientRecord;
	/** Connected by the test (it may be reconnecting), as opposed to closed by it. */
	open: boolean;
}

/** Runs `action`, failing with a clear message if it has not settled within `ms`. */
export async function bounded<T>(ms: number, what: string, action: () => Promise<T>): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			action(),
			new Promise<never>((_, reject) => {
				timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}

/** Errors the client reports that no sequence should ever cause. */
const UNEXPECTED = new Set(['parse', 'schema', 'handler', 'unsupported', 'unauthorized']);

export class World {
	readonly model = new DeliveryModel();
	readonly #log: string[] = [];
	readonly hubErrors: unknown[] = [];
	readonly sessions: Session[] = [];
	readonly tabs: Tab[] = [];
	/** How far the stores' clock is ahead of the real one (timers stay real). */
	offset = 0;
	#published = 0;
	#hub!: SSEHub<Topics>;
	#store!: HistoryStore;
	#handler!: ReturnType<SSEHub<Topics>['handler']>;
	#server: TestServer | undefined;
	readonly #watchers: ReturnType<typeof setInterval>[] = [];

	constructor(readonly options: WorldOptions) {}

	/** What happened, in order, each line with the model's time; deliveries too with `trace`. */
	get log(): readonly string[] {
		return this.#log;
	}

	note(line: string): void {
		this.#log.push(`@${this.model.tick()} ${line}`);
	}

	get hub(): SSEHub<Topics> {
		return this.#hub;
	}

	get origin(): string {
		if (!this.#server) throw new Error('the world is not started');
		return this.#server.origin;
	}

	#makeHub(): void {
		const { retention, redis } = this.options;
		const now = () => Date.now() + this.offset;
		this.#store = redis
			? redisHistory({ url: redis.url, prefix: redis.prefix, ...retention, now, timeoutMs: 500 })
			: memoryHistory({ ...retention, now });
		this.#hub = createSSEHub<Topics>({
			topics: TOPICS,
			history: this.#store,
			newTopicHistory: this.options.policy,
			// The model's policy is what a brand-new client gets too (its `fresh` windows).
			initialHistory: this.options.policy,
			closeOnSignals: false,
			limits: { retryMs: 20 },
			onError: (error) => this.hubErrors.push(error),
		});
		this.#handler = this.#hub.handler();
	}

	async start(): Promise<void> {
		this.#makeHub();
		// One server for the whole sequence: a restarted hub answers on the same origin, as a
		// restarted process behind the same address would. `/session` mints a session cookie.
		this.#server = await serveHandler(async (event) => {
			if (event.url.pathname === '/session') {
				return new Response(await this.#hub.sessionOf(event));
			}
			return this.#handler(event);
		});
		await this.registerEpoch();
	}

	/** Learns the store's epoch as soon as it has one, so epochs are numbered in their order. */
	async registerEpoch(): Promise<void> {
		const deadline = Date.now() + 5000;
		for (;;) {
			try {
				this.model.epoch((await this.#hub.stats()).epoch);
				return;
			} catch (error) {
				if (Date.now() > deadline) throw new Error(`the store never answered: ${error}`);
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		}
	}

	/** A new hub and a new store in the same place: a process restart. */
	async restartHub(): Promise<void> {
		const [hub, store] = [this.#hub, this.#store];
		this.#makeHub(); // new connections reach the new hub at once
		await bounded(5000, 'hub.close() of the old hub', () => hub.close());
		this.note('the old hub closed');
		await bounded(5000, 'close() of the old store', () => store.close());
		this.note('the old store closed');
		await this.registerEpoch();
	}

	async newSession(): Promise<Session> {
		const fetch = cookieFetch();
		const response = await fetch(`${this.origin}/session`);
		const session = { name: `s${this.sessions.length}`, id: await response.text(), fetch };
		if (!response.ok || !session.id) throw new Error(`no session: ${response.status}`);
		this.sessions.push(session);
		return session;
	}

	/**
	 * Opens a brand-new client and waits for its first `sse:ready`. `fromSnapshot`: as a page
	 * does, it starts from a `hub.snapshot` of its topics and session (`lastEventID`).
	 */
	async newTab(session: Session, topics: readonly Topic[], fromSnapshot = false): Promise<Tab> {
		const name = `c${this.tabs.length}`;
		const snapshot = fromSnapshot ? await this.#snapshotSurely(topics, session) : undefined;
		const start = snapshot && {
			lastEventId: snapshot.lastEventId,
			keys: snapshot.events.map((event) => event.data.k),
		};
		this.note(
			`${name} = new SSEClient(${session.name}, [${topics}]${start ? `, from snapshot ${start.lastEventId} [${start.keys}]` : ''})`,
		);
		const record = this.model.addClient(name, session.id, topics, start);
		const client = new SSEClient<Topics>(`${this.origin}/events`, {
			lastEventID: start?.lastEventId,
			EventSource,
			eventSourceInit: { fetch: this.options.specIds ? specIds(session.fetch) : session.fetch },
			topics: [...topics],
			autoConnect: false,
			reconnectWait: 20,
			maxReconnectWait: 200,
			onGap: (gap) => {
				this.model.gap(record, gap);
				this.note(`${name} gap ${gap.reason} [${gap.topics}]`);
			},
			onError: (error) => {
				if (UNEXPECTED.has(error.code))
					record.errors.push(`onError ${error.code}: ${error.message}`);
			},
		});
		for (const topic of TOPICS) {
			client.on(topic, (data, meta) => {
				this.model.delivered(record, topic, meta.id, data.k, client.topics);
				if (this.options.trace) this.note(`${name} <- ${data.k} ${meta.id}`);
			});
		}
		const tab = { name, session, client, record, open: true };
		this.tabs.push(tab);
		if (this.options.trace) this.#watch(tab);
		client.connect();
		await this.until(() => ready(tab), `${name} to be ready`);
		return tab;
	}

	/** With `trace`: notes each change of the client's status (polled, so brief ones may be missed). */
	#watch(tab: Tab): void {
		let seen = '';
		const timer = setInterval(() => {
			const now = `${tab.client.status}${tab.client.replaying ? ' replaying' : ''} at ${tab.client.lastEventID}`;
			if (now !== seen) this.note(`${tab.name} ${now}`);
			seen = now;
		}, 1);
		this.#watchers.push(timer);
	}

	/** Publishes a broadcast until the store takes one (a Redis fault may refuse a few). */
	/** A page's `hub.snapshot`, read again while the store is unreachable (a load the user retries). */
	async #snapshotSurely(topics: readonly Topic[], session: Session) {
		const deadline = Date.now() + 5000;
		for (;;) {
			try {
				return await this.#hub.snapshot(topics, { session: session.id, last: 3 });
			} catch (error) {
				if (Date.now() > deadline) throw error;
				await new Promise((resolve) => setTimeout(resolve, 20));
			}
		}
	}

	async publishSurely(topic: Topic): Promise<ModelEvent> {
		const deadline = Date.now() + 5000;
		for (;;) {
			const event = await this.publish(topic, null);
			if (!event.uncertain) return event;
			if (Date.now() > deadline) throw new Error(`could not publish to ${topic} for 5 s`);
			await new Promise((resolve) => setTimeout(resolve, 20));
		}
	}

	async publish(topic: Topic, session: Session | null): Promise<ModelEvent> {
		const key = `${topic}${++this.#published}${session ? `.${session.name}` : ''}`;
		const event = this.model.publishing(key, topic, session?.id ?? null);
		try {
			const id = await this.#hub.publish(topic, { k: key }, session ? { session: session.id } : {});
			this.model.published(event, id);
			this.note(`publish ${key} -> ${id}`);
		} catch (error) {
			this.model.failed(event);
			this.note(`publish ${key} failed: ${(error as Error).message}`);
		}
		return event;
	}

	updateTopics(tab: Tab, change: { add?: Topic[]; remove?: Topic[] }): void {
		const position = tab.client.lastEventID;
		this.note(
			`${tab.name}.updateTopics(+[${change.add ?? []}] -[${change.remove ?? []}]) at ${position}`,
		);
		this.model.changeTopics(tab.record, change, position);
		tab.client.updateTopics({ addTopics: change.add, removeTopics: change.remove });
	}

	close(tab: Tab): void {
		this.note(`${tab.name}.close() at ${tab.client.lastEventID}`);
		tab.client.close();
		tab.open = false;
	}

	reopen(tab: Tab): void {
		this.note(`${tab.name}.connect() at ${tab.client.lastEventID}`);
		tab.client.connect();
		tab.open = true;
	}

	/** Resolves when `predicate` holds (checked every few ms); fails after `timeoutMs`. */
	async until(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
		const deadline = Date.now() + timeoutMs;
		while (!predicate()) {
			if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
			await new Promise((resolve) => setTimeout(resolve, 5));
		}
	}

	/** Every open client connected with its replay over. */
	async settle(what = 'every open client to be ready'): Promise<void> {
		await this.until(() => this.tabs.every((tab) => !tab.open || ready(tab)), what);
	}

	async stop(): Promise<void> {
		for (const timer of this.#watchers) clearInterval(timer);
		for (const tab of this.tabs) tab.client.close();
		await this.#hub?.close();
		await this.#store?.close();
		await this.#server?.close();
	}
}

type Fetch = (url: string | URL, init?: EventSourceFetchInit) => Promise<Response>;

/**
 * Rewrites each id-only frame (`id: x`, then a blank line) into one the `eventsource` package
 * acts on: the same id on an event no handler listens to, which sets its last event id as an
 * id-only frame does in a browser.
 */
function specIds(fetch: Fetch): Fetch {
	return async (url, init) => {
		const response = await fetch(url, init);
		if (!response.body) return response;
		const decoder = new TextDecoder();
		const encoder = new TextEncoder();
		let pending = '';
		const rewrite = (frame: string) =>
			/^id: [^\n]*$/.test(frame) ? `${frame}\nevent: sse:position\ndata:` : frame;
		const body = response.body.pipeThrough(
			new TransformStream<Uint8Array, Uint8Array>({
				transform(chunk, controller) {
					const frames = (pending + decoder.decode(chunk, { stream: true })).split('\n\n');
					pending = frames.pop() ?? '';
					if (frames.length > 0) {
						controller.enqueue(encoder.encode(`${frames.map(rewrite).join('\n\n')}\n\n`));
					}
				},
				flush(controller) {
					if (pending) controller.enqueue(encoder.encode(pending));
				},
			}),
		);
		return new Response(body, { status: response.status, headers: response.headers });
	};
}

function ready(tab: Tab): boolean {
	return tab.client.status === 'connected' && !tab.client.replaying;
}
