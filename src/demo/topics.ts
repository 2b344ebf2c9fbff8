/**
 * The demo's topics, defined once: the hub takes its names and schemas from this, the pages their
 * types. No server code here, so both sides import it. `zod/mini` keeps the schemas small in the
 * page's bundle.
 */

import { defineTopics, type TopicsOf } from 'svelte-sse-kit';
import * as z from 'zod/mini';

const storyLine = z.object({
	/** Who speaks: the narrator, the reader (echo of a reply), or a question awaiting a reply. */
	role: z.enum(['narrator', 'reader', 'prompt']),
	text: z.string(),
	/** For a prompt: the answers offered as buttons (free text is accepted too). */
	choices: z.optional(z.array(z.string())),
	/** True on the last line: the story is over (a reply then starts it again). */
	end: z.optional(z.boolean()),
});

export const topics = defineTopics({
	/** The story chat: session-scoped, one conversation per browser session. */
	story: storyLine,
	/** A notification every few seconds, to everyone. */
	notifications: z.object({
		title: z.string(),
		body: z.string(),
		level: z.enum(['info', 'success', 'warning']),
	}),
	/** A log line every few seconds, to everyone. */
	logs: z.object({
		level: z.enum(['debug', 'info', 'warn', 'error']),
		source: z.string(),
		message: z.string(),
	}),
	/** The shared panel: a counter any tab can bump, who bumped it last, and streams open. */
	broadcast: z.object({ count: z.number(), by: z.string(), online: z.number() }),
});

/** Each topic's data, as the schemas above make it. */
export type DemoTopics = TopicsOf<typeof topics>;

export type StoryLine = DemoTopics['story'];
