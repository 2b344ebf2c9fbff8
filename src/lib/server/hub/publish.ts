// From `hub.publish` to every stream: the topic checked against the declared ones, the
// idempotency key and the topic's schema checked, the data serialized once, the event appended
// to the store, and delivered (by the store's live feed when it has one, else here).
import type { StandardSchemaLike } from '../../client/sse-client.svelte.js';
import { SSEHubError, SSEValidationError } from '../errors.js';
import type { AppendedEvent, AppendInput, HistoryStore, StoredEvent } from '../history/index.js';
import { idempotencyKeyProblem } from '../history/index.js';
import type { TopicMapOf } from '../transport/index.js';
import { serializeData } from '../wire/index.js';
import { HubCounters } from './counters.js';
import type { HubSettings } from './settings.js';
import type { PublishOptions, SSEHubOptions } from './types.js';

/** What publishing uses of the hub. */
export interface PublishParts<Topics extends TopicMapOf<Topics>> {
	options: SSEHubOptions<Topics>;
	settings: HubSettings;
	store: HistoryStore;
	/** Hands a stored event to the streams that want it (the fan-out). */
	deliver: (stored: StoredEvent) => void;
	counters: HubCounters;
	/** Whether `hub.close()` has begun: from then on nothing is published. */
	isClosed(): boolean;
}

/** Validates, stores and delivers one event; resolves to its id. A refusal is counted by code. */
export async function publishEvent<
	Topics extends TopicMapOf<Topics>,
	K extends keyof Topics & string,
>(
	parts: PublishParts<Topics>,
	topic: K,
	data: Topics[K],
	options: PublishOptions = {},
): Promise<string> {
	try {
		return await publishChecked(parts, topic, data, options);
	} catch (error) {
		if (error instanceof SSEHubError) HubCounters.count(parts.counters.publishRefused, error.code);
		throw error;
	}
}

async function publishChecked<Topics extends TopicMapOf<Topics>, K extends keyof Topics & string>(
	parts: PublishParts<Topics>,
	topic: K,
	data: Topics[K],
	{ session, idempotencyKey }: PublishOptions,
): Promise<string> {
	if (parts.isClosed()) throw new SSEHubError('hub_closed', 503, 'This event hub is closed.');
	checkDeclared(parts.settings.declared, topic);
	checkIdempotencyKey(idempotencyKey);
	const schema = parts.settings.schemas.get(topic);
	// No schema, no await: publishes of one tick reach the store in that tick, in order.
	const value = schema ? await validated(schema, topic, data) : data;
	const stored = await append(parts.store, {
		topic,
		data: serialized(topic, value),
		session,
		idempotencyKey,
	});
	// A duplicate went out when it was first stored.
	if (stored.duplicate) return stored.id;
	parts.counters.published++;
	// A shared store's live feed brings it, to every process (this one included).
	if (!parts.store.listen) parts.deliver(stored);
	return stored.id;
}

function checkDeclared(declared: ReadonlySet<string>, topic: string): void {
	if (declared.has(topic)) return;
	throw new SSEHubError(
		'unknown_topic',
		400,
		`Unknown topic "${topic}"; declared: ${[...declared].join(', ')}.`,
		{ topics: [topic] },
	);
}

function checkIdempotencyKey(idempotencyKey: string | undefined): void {
	const problem = idempotencyKey === undefined ? undefined : idempotencyKeyProblem(idempotencyKey);
	if (problem) {
		throw new SSEHubError('invalid_idempotency_key', 400, `publish: idempotencyKey ${problem}.`);
	}
}

/** The data as the topic's schema outputs it; what fails the schema is refused. */
async function validated(
	schema: StandardSchemaLike,
	topic: string,
	data: unknown,
): Promise<unknown> {
	const result = await schema['~standard'].validate(data);
	if (result.issues) throw new SSEValidationError(topic, result.issues);
	return result.value;
}

/** The data as JSON text, made once for the store and every stream. */
function serialized(topic: string, value: unknown): string {
	try {
		return serializeData(value);
	} catch (cause) {
		throw new SSEHubError('invalid_data', 400, (cause as Error).message, { topic }, { cause });
	}
}

async function append(store: HistoryStore, input: AppendInput): Promise<AppendedEvent> {
	try {
		return await store.append(input);
	} catch (cause) {
		throw new SSEHubError(
			'history_unavailable',
			503,
			`Could not store the event: ${(cause as Error).message}`,
			{},
			{ cause },
		);
	}
}
