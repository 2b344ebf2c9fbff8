// The model of "exactly once, or told" that the model-based delivery test checks the real hub and
// the real SSEClient against: what was published (to whom, when), what each client had (its
// topics and its position at every topic change), and what it delivered and was told.
//
// Times are logical: one counter ticks at every recorded step, so "a gap after the event was
// published" is a comparison of two ticks, whatever the network did in between.
/** Where an event sits: its store's lifetime (epochs in the order they appeared), then `seq`. */
export interface Position {
	gen: number;
	seq: number;
}

export interface ModelEvent {
	/** The unique key the test put in the event's data. */
	key: string;
	topic: string;
	/** The session it was published to; `null` for a broadcast. */
	session: string | null;
	/** `<epoch>-<seq>`; `null` while unknown (a publish that failed may still have stored it). */
	id: string | null;
	pos: Position | null;
	/** When `publish` was called. */
	at: number;
	/** `publish` rejected: the event may or may not exist, so it is never required. */
	uncertain: boolean;
}

/** One end of a span during which a client had a topic. */
interface Bound {
	/** The client's position then (`lastEventID`); `null` when it had none. */
	pos: Position | null;
	at: number;
}

interface Interval {
	topic: string;
	from: Bound;
	/** `null` while the client still has the topic. */
	to: Bound | null;
	/** Opened by a brand-new client (no position): what was published before it is history. */
	fresh: boolean;
}

interface Delivery {
	topic: string;
	id: string;
	key: string;
	at: number;
	/** The client's topics when it delivered the event. */
	topics: readonly string[];
}

interface SeenGap {
	reason: string;
	topics: readonly string[];
	at: number;
}

export class ClientRecord {
	readonly intervals: Interval[] = [];
	readonly deliveries: Delivery[] = [];
	readonly gaps: SeenGap[] = [];
	/** Errors the client reported that are never expected (parse, schema, handler). */
	readonly errors: string[] = [];
	/** Keys of the events its `hub.snapshot` held (the page rendered them): never delivered. */
	readonly rendered = new Set<string>();

	constructor(
		readonly name: string,
		readonly session: string,
	) {}

	open(topic: string): Interval | undefined {
		return this.intervals.find((interval) => interval.topic === topic && interval.to === null);
	}
}

export type HistoryPolicy = 'all' | 'none' | number;

export interface CheckOptions {
	policy: HistoryPolicy;
	/** Nothing could have been lost (generous retention, no clock jump, no restart): no gap at all. */
	lossless: boolean;
	/** Check the policy's history too (lossless, one epoch, every publish known to have stored). */
	windows: boolean;
	/** The client's `topicCounters` at the end. */
	counters: Readonly<Record<string, number | undefined>>;
}

const ID = /^([A-Za-z0-9_]+)-(\d+)$/;

function compare(a: Position, b: Position): number {
	return a.gen !== b.gen ? a.gen - b.gen : a.seq - b.seq;
}

export class DeliveryModel {
	readonly events: ModelEvent[] = [];
	readonly clients: ClientRecord[] = [];
	#time = 0;
	readonly #gens = new Map<string, number>();
	readonly #byKey = new Map<string, ModelEvent>();

	tick(): number {
		return ++this.#time;
	}

	/** Registers an epoch (the first time it is seen, it is the newest). */
	epoch(epoch: string): number {
		let gen = this.#gens.get(epoch);
		if (gen === undefined) {
			gen = this.#gens.size;
			this.#gens.set(epoch, gen);
		}
		return gen;
	}

	get epochs(): number {
		return this.#gens.size;
	}

	position(id: string | null): Position | null {
		if (!id) return null;
		const match = ID.exec(id);
		if (!match) throw new Error(`not a hub event id: ${JSON.stringify(id)}`);
		return { gen: this.epoch(match[1] as string), seq: Number(match[2]) };
	}

	/** `publish` is being called. */
	publishing(key: string, topic: string, session: string | null): ModelEvent {
		const event: ModelEvent = {
			key,
			topic,
			session,
			id: null,
			pos: null,
			at: this.tick(),
			uncertain: false,
		};
		this.events.push(event);
		this.#byKey.set(key, event);
		return event;
	}

	published(event: ModelEvent, id: string): void {
		event.id = id;
		event.pos = this.position(id);
	}

	failed(event: ModelEvent): void {
		event.uncertain = true;
	}

	get uncertain(): boolean {
		return this.events.some((event) => event.uncertain);
	}

	/**
	 * A client that has no position yet: it owes what is published from now on. With `start` (a
	 * `hub.snapshot` it was started from): everything after the snapshot's position, and none of
	 * the events the snapshot held.
	 */
	addClient(
		name: string,
		session: string,
		topics: readonly string[],
		start?: { lastEventId: string; keys: readonly string[] },
	): ClientRecord {
		const client = new ClientRecord(name, session);
		const from = { pos: this.position(start?.lastEventId ?? null), at: this.tick() };
		for (const topic of topics) {
			client.intervals.push({ topic, from, to: null, fresh: !start });
		}
		for (const key of start?.keys ?? []) client.rendered.add(key);
		this.clients.push(client);
		return client;
	}

	/** `updateTopics` is called while the client's position is `lastEventID`. */
	changeTopics(
		client: ClientRecord,
		change: { add?: readonly string[]; remove?: readonly string[] },
		lastEventID: string | null,
	): void {
		const bound = { pos: this.position(lastEventID), at: this.tick() };
		for (const topic of change.remove ?? []) {
			const interval = client.open(topic);
			if (interval) interval.to = bound;
		}
		for (const topic of change.add ?? []) {
			if (client.open(topic)) continue;
			client.intervals.push({ topic, from: bound, to: null, fresh: false });
		}
	}

	delivered(
		client: ClientRecord,
		topic: string,
		id: string,
		key: string,
		topics: readonly string[],
	): void {
		client.deliveries.push({ topic, id, key, at: this.tick(), topics: [...topics] });
	}

	gap(client: ClientRecord, gap: { reason: string; topics: readonly string[] }): void {
		client.gaps.push({ reason: gap.reason, topics: [...gap.topics], at: this.tick() });
	}

	/** Is `event` (published to `topic`) meant for `client`? */
	#addressed(client: ClientRecord, event: ModelEvent, topic: string): boolean {
		return event.topic === topic && (event.session === null || event.session === client.session);
	}

	#after(event: ModelEvent, bound: Bound): boolean {
		if (bound.pos && event.pos) return compare(event.pos, bound.pos) > 0;
		return event.at > bound.at;
	}

	/** Up to the position the client had when it removed the topic (none: nothing is owed). */
	#notAfter(event: ModelEvent, bound: Bound | null): boolean {
		if (!bound) return true;
		if (!bound.pos || !event.pos) return false;
		return compare(event.pos, bound.pos) <= 0;
	}

	/** The events the client must have delivered for each span of a topic. */
	#owed(client: ClientRecord, interval: Interval, options: CheckOptions): ModelEvent[] {
		const owed: ModelEvent[] = [];
		const before: ModelEvent[] = [];
		for (const event of this.events) {
			if (event.uncertain || !this.#addressed(client, event, interval.topic)) continue;
			if (this.#after(event, interval.from)) {
				if (this.#notAfter(event, interval.to)) owed.push(event);
			} else if (event.at < interval.from.at) {
				before.push(event);
			}
		}
		// The policy's history is checked only where it is certain what it covers: a brand-new
		// client's first stream (the test waits for its `sse:ready` before anything else happens).
		// A topic added later gets its window whenever its stream is planned, and a drop during that
		// replay may rightly cut it short (those events are before the client's position), so only
		// what comes after the position is owed there.
		if (options.windows && interval.fresh) {
			const { policy } = options;
			if (policy === 'all') owed.push(...before);
			else if (typeof policy === 'number')
				owed.push(...before.slice(Math.max(0, before.length - policy)));
		}
		return owed;
	}

	/** What breaks the promise for `client`; empty when it holds. */
	check(client: ClientRecord, options: CheckOptions): string[] {
		const problems: string[] = [...client.errors];
		const last = new Map<string, Position>();
		const deliveredKeys = new Set<string>();
		const counts = new Map<string, number>();
		for (const delivery of client.deliveries) {
			const where = `${delivery.topic} ${delivery.id} (${delivery.key})`;
			counts.set(delivery.topic, (counts.get(delivery.topic) ?? 0) + 1);
			const event = this.#byKey.get(delivery.key);
			const pos = delivery.id ? this.position(delivery.id) : null;
			if (!event) {
				problems.push(`delivered ${where}, which the test never published`);
				continue;
			}
			if (!pos) {
				// Without an id it cannot be compared; what it is tells more than the mismatches would.
				const again = deliveredKeys.has(delivery.key) ? ', a second time' : '';
				problems.push(`delivered ${where} without an event id${again}`);
				deliveredKeys.add(delivery.key);
				continue;
			}
			if (!this.#addressed(client, event, delivery.topic)) {
				problems.push(
					`delivered ${where}, not addressed to it (topic ${event.topic}, session ${event.session ?? 'broadcast'})`,
				);
			}
			if (!delivery.topics.includes(delivery.topic)) {
				problems.push(`delivered ${where} while its topics were [${delivery.topics.join(',')}]`);
			}
			if (event.id === null) this.published(event, delivery.id);
			else if (event.id !== delivery.id)
				problems.push(`delivered ${where}, but publish returned ${event.id}`);
			if (deliveredKeys.has(delivery.key)) problems.push(`delivered ${where} twice`);
			if (client.rendered.has(delivery.key))
				problems.push(`delivered ${where}, which its snapshot held (rendered already)`);
			deliveredKeys.add(delivery.key);
			const previous = last.get(delivery.topic);
			if (previous && compare(pos, previous) <= 0) {
				problems.push(`delivered ${where} after ${previous.gen}:${previous.seq}: out of order`);
			}
			last.set(delivery.topic, pos);
		}
		for (const [topic, count] of counts) {
			if (options.counters[topic] !== count) {
				problems.push(`topicCounters.${topic} is ${options.counters[topic]}, delivered ${count}`);
			}
		}
		for (const [topic, count] of Object.entries(options.counters)) {
			if (count && !counts.has(topic))
				problems.push(`topicCounters.${topic} is ${count}, delivered 0`);
		}
		if (options.lossless && client.gaps.length > 0) {
			problems.push(
				`told of a gap though nothing was lost: ${client.gaps.map((g) => `${g.reason}[${g.topics}]@${g.at}`).join(' ')}`,
			);
		}
		for (const interval of client.intervals) {
			const missing = this.#owed(client, interval, options).filter(
				(event) =>
					!deliveredKeys.has(event.key) &&
					// Told: a gap naming the topic after the event was published covers it.
					!client.gaps.some((gap) => gap.at > event.at && gap.topics.includes(interval.topic)),
			);
			if (missing.length === 0) continue;
			problems.push(
				`${interval.topic} from ${describe(interval.from)} to ${interval.to ? describe(interval.to) : 'the end'}: ` +
					`missing ${missing.map((e) => `${e.id}(${e.key}@${e.at}, client at ${this.#positionAt(client, e.at)})`).join(' ')}; ` +
					`delivered ${this.#deliveredOf(client, interval.topic)}; ` +
					`gaps ${client.gaps.map((g) => `${g.reason}[${g.topics}]@${g.at}`).join(' ') || 'none'}`,
			);
		}
		return problems;
	}

	/** The id of the newest event the client had delivered by `at` (what it would resume from). */
	#positionAt(client: ClientRecord, at: number): string {
		let newest: Delivery | undefined;
		let position: Position | null = null;
		for (const delivery of client.deliveries) {
			if (delivery.at > at) break;
			const pos = delivery.id ? this.position(delivery.id) : null;
			if (pos && (!position || compare(pos, position) > 0)) {
				position = pos;
				newest = delivery;
			}
		}
		return newest ? newest.id : 'none';
	}

	#deliveredOf(client: ClientRecord, topic: string): string {
		const list = client.deliveries.filter((d) => d.topic === topic);
		return list.map((d) => `${d.id}(${d.key}@${d.at})`).join(' ') || 'nothing';
	}
}

function describe(bound: Bound): string {
	return `${bound.pos ? `${bound.pos.gen}:${bound.pos.seq}` : 'no position'}@${bound.at}`;
}
