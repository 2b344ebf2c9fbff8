// The hub's topics, read once at `createSSEHub`: the names it serves and the schema each one's
// data is checked with on publish, from a `defineTopics` definition or from the names and
// `schemas`. A mistake (a bad name, a schema given twice, a value that is no schema) shows here.
import { isStandardSchema, type StandardSchemaLike } from '../../client/sse-client.svelte.js';
import { SSEConfigError } from '../errors.js';
import type { TopicMapOf } from '../transport/index.js';
import { topicNameProblem } from '../wire/index.js';
import type { SSEHubOptions } from './types.js';

export interface HubTopics {
	/** The topics this hub serves; requests and publishes for any other are refused. */
	declared: ReadonlySet<string>;
	/** The schema of each topic that has one. */
	schemas: ReadonlyMap<string, StandardSchemaLike>;
}

export function hubTopics<Topics extends TopicMapOf<Topics>>(
	options: SSEHubOptions<Topics>,
): HubTopics {
	const { topics } = options;
	const definition = Array.isArray(topics) ? null : topics;
	if (definition !== null && !isDefinition(definition)) {
		throw new SSEConfigError(
			'createSSEHub: `topics` is a list of names or a definition from defineTopics(...).',
		);
	}
	const declared = declaredTopics(definition?.names ?? (topics as readonly string[]));
	const schemas = new Map<string, StandardSchemaLike>();
	const add = (topic: string, schema: unknown, where: string) => {
		if (schema === undefined) return;
		if (!declared.has(topic)) {
			throw new SSEConfigError(
				`createSSEHub: "${topic}" has a schema ${where} but is not a topic.`,
			);
		}
		if (!isStandardSchema(schema)) {
			throw new SSEConfigError(
				`createSSEHub: the schema of "${topic}" ${where} is not a Standard Schema (zod, valibot, arktype…).`,
			);
		}
		if (schemas.has(topic)) {
			throw new SSEConfigError(
				`createSSEHub: "${topic}" has a schema in its topics definition and in \`schemas\`: give it once (\`schemas\` is for topics defined with null).`,
			);
		}
		schemas.set(topic, schema);
	};
	for (const [topic, schema] of Object.entries(definition?.schemas ?? {})) {
		add(topic, schema, 'in the topics definition');
	}
	for (const [topic, schema] of Object.entries(options.schemas ?? {}))
		add(topic, schema, 'in `schemas`');
	return { declared, schemas };
}

/** What `defineTopics` makes (made by hand, it is checked all the same). */
function isDefinition(value: unknown): value is { names: readonly string[]; schemas: object } {
	const candidate = value as { names?: unknown; schemas?: unknown } | null;
	return (
		typeof candidate === 'object' &&
		candidate !== null &&
		Array.isArray(candidate.names) &&
		typeof candidate.schemas === 'object' &&
		candidate.schemas !== null
	);
}

/** The declared topics, each one a name the protocol accepts; at least one. */
function declaredTopics(topics: readonly string[]): ReadonlySet<string> {
	const declared = new Set<string>(topics);
	for (const topic of declared) {
		const problem = topicNameProblem(topic);
		if (problem)
			throw new SSEConfigError(
				`createSSEHub: topic ${JSON.stringify(topic)} is invalid: ${problem}.`,
			);
	}
	if (declared.size === 0) throw new SSEConfigError('createSSEHub: declare at least one topic.');
	return declared;
}
