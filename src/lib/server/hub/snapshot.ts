// `hub.snapshot`: a topic's (and a session's) recent events and the position they end at, for a
// `load` function to render; a client started from that position gets what came after, once.
import { SSEHubError } from '../errors.js';
import type { HistoryStore, StoredEvent } from '../history/index.js';
import type { TopicMapOf } from '../transport/index.js';
import { formatEventId } from '../wire/index.js';
import type { HubSettings } from './settings.js';

export interface SnapshotOptions {
	/** Merge this session's own events of the topics in (pass the session the page's stream has). */
	session?: string | null;
	/** The last this many events of each topic (a whole number, 0 for the position only). @default 50 */
	last?: number;
}

/** One event of a snapshot, typed by its topic. */
export type SnapshotEvent<
	Topics extends TopicMapOf<Topics>,
	K extends keyof Topics & string = keyof Topics & string,
> = {
	[T in K]: { id: string; topic: T; data: Topics[T] };
}[K];

export interface Snapshot<
	Topics extends TopicMapOf<Topics>,
	K extends keyof Topics & string = keyof Topics & string,
> {
	/** In `seq` order: every retained event of the topics within the window, up to `lastEventId`. */
	events: SnapshotEvent<Topics, K>[];
	/**
	 * The position they end at: give it to the client (`new SSEClient(url, { lastEventID })`) and
	 * its stream replays exactly what came after it.
	 */
	lastEventId: string;
}

/** Reads tried before giving up when the store's epoch changes under the snapshot (a Redis restore). */
const EPOCH_TRIES = 3;

function checkedLast(last: unknown): number {
	if (typeof last !== 'number' || !Number.isSafeInteger(last) || last < 0) {
		throw new SSEHubError(
			'invalid_snapshot',
			400,
			`hub.snapshot: last must be a whole number of events, 0 or more, got ${String(last)}.`,
		);
	}
	return last;
}

function checkedTopics(topics: unknown, declared: ReadonlySet<string>): string[] {
	if (!Array.isArray(topics) || topics.length === 0) {
		throw new SSEHubError('invalid_snapshot', 400, 'hub.snapshot: name at least one topic.');
	}
	const unknown = topics.filter((topic) => !declared.has(topic));
	if (unknown.length > 0) {
		throw new SSEHubError(
			'unknown_topic',
			400,
			`hub.snapshot: unknown topics: ${unknown.map(String).join(', ')}. This hub serves: ${[...declared].join(', ')}.`,
			{ topics: unknown },
		);
	}
	return [...new Set(topics as string[])];
}

/**
 * The store is read once, after its head: every event up to the newest one returned (or up to
 * that head, if newer) was stored before the read, since a store gives out a `seq` and keeps its
 * event in one step; so the events are exactly those of the window up to the position returned.
 */
export async function readSnapshot<
	Topics extends TopicMapOf<Topics>,
	K extends keyof Topics & string,
>(
	store: HistoryStore,
	settings: HubSettings,
	topics: readonly K[],
	options: SnapshotOptions = {},
): Promise<Snapshot<Topics, K>> {
	const wanted = checkedTopics(topics, settings.declared);
	const last = checkedLast(options.last ?? 50);
	// '' is no session (`session` never resolves to it): only the topics' broadcast events.
	const session = options.session ?? '';
	for (let attempt = 1; ; attempt++) {
		const [epoch, head] = await Promise.all([store.epoch(), store.head()]);
		const read =
			last === 0
				? []
				: (
						await store.read({
							session,
							cursors: wanted.map((topic) => ({ topic, last })),
							limit: last * wanted.length,
						})
					).events;
		const newest: StoredEvent | undefined = read.at(-1);
		const sameEpoch = !newest || newest.id === formatEventId(epoch, newest.seq);
		if (!sameEpoch && attempt < EPOCH_TRIES) continue;
		if (!sameEpoch) {
			throw new SSEHubError(
				'history_unavailable',
				503,
				'The event history changed epoch while read.',
			);
		}
		return {
			events: read.map(
				(event) =>
					({ id: event.id, topic: event.topic, data: JSON.parse(event.data) }) as SnapshotEvent<
						Topics,
						K
					>,
			),
			lastEventId: formatEventId(epoch, Math.max(head, newest?.seq ?? 0)),
		};
	}
}
