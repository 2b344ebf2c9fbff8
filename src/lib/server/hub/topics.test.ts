// The hub's topics from a definition or from names and `schemas`: what createSSEHub refuses at
// startup. Publishing and streaming with a definition, over HTTP, is tests/hub/definition.test.ts.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTopics, type TopicMap } from '../../client/sse-client.svelte.js';
import { SSEConfigError } from '../errors.js';
import { createSSEHub } from './hub.js';
import type { SSEHubOptions } from './types.js';

const topics = defineTopics({ chat: z.object({ text: z.string() }), presence: null });

/** The SSEConfigError createSSEHub throws for these options. */
function refusal(options: Partial<SSEHubOptions<TopicMap>>): SSEConfigError {
	try {
		const hub = createSSEHub<TopicMap>({ topics, closeOnSignals: false, ...options });
		void hub.close();
	} catch (error) {
		expect(error).toBeInstanceOf(SSEConfigError);
		return error as SSEConfigError;
	}
	throw new Error('createSSEHub accepted the options');
}

describe('createSSEHub with a topics definition', () => {
	it('refuses a schema given in the definition and in `schemas`', () => {
		expect(refusal({ schemas: { chat: z.object({ text: z.string().max(10) }) } }).message).toBe(
			'createSSEHub: "chat" has a schema in its topics definition and in `schemas`: give it once (`schemas` is for topics defined with null).',
		);
	});

	it('refuses a schema for a topic it does not serve, and a value that is no schema', () => {
		expect(refusal({ schemas: { weather: z.string() } }).message).toBe(
			'createSSEHub: "weather" has a schema in `schemas` but is not a topic.',
		);
		expect(refusal({ schemas: { presence: { parse: () => 1 } as never } }).message).toBe(
			'createSSEHub: the schema of "presence" in `schemas` is not a Standard Schema (zod, valibot, arktype…).',
		);
	});

	it('refuses what is neither names nor a definition, such as the schemas without defineTopics', () => {
		const schemasAlone = { chat: z.string() } as never;
		expect(refusal({ topics: schemasAlone }).message).toBe(
			'createSSEHub: `topics` is a list of names or a definition from defineTopics(...).',
		);
	});

	it('checks a definition made by hand as it checks names', () => {
		const byHand = (names: string[], schemas: object = {}) => ({ names, schemas }) as never;
		expect(refusal({ topics: byHand(['sse:ready']) }).message).toMatch(
			/^createSSEHub: topic "sse:ready" is invalid: "sse:" is reserved/,
		);
		expect(refusal({ topics: byHand([]) }).message).toBe(
			'createSSEHub: declare at least one topic.',
		);
		expect(refusal({ topics: byHand(['chat'], { chat: 'z.string()' }) }).message).toBe(
			'createSSEHub: the schema of "chat" in the topics definition is not a Standard Schema (zod, valibot, arktype…).',
		);
	});
});
