/**
 * `actionFailure` and `httpError` on a real hub's refusals: a schema failure and an unknown topic
 * become Kit's `fail(400, …)` and `error(400, …)` with the refusal's fields, anything that is not
 * the caller's fault is rethrown as it is. The fixture app proves the same through Kit's own
 * request handling (tests/kit-app.test.ts).
 */
import { isActionFailure, isHttpError } from '@sveltejs/kit';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createSSEHub } from './hub/index.js';
import { actionFailure, httpError } from './kit-errors.js';

type Topics = { chat: { text: string } };
const hub = () =>
	createSSEHub<Topics>({
		topics: ['chat'],
		closeOnSignals: false,
		schemas: { chat: z.object({ text: z.string().min(1) }) },
	});
let current: ReturnType<typeof hub> | undefined;
afterEach(async () => {
	await current?.close();
});

/** What `publish` rejects with. */
async function refusal(publish: (h: ReturnType<typeof hub>) => Promise<unknown>) {
	current = hub();
	return publish(current).then(
		() => expect.unreachable('publish should have been refused'),
		(error: unknown) => error,
	);
}

describe('actionFailure', () => {
	it('turns a schema failure into fail(400) with plain issues a form can show', async () => {
		const failure = actionFailure(await refusal((h) => h.publish('chat', { text: '' })));
		expect(isActionFailure(failure)).toBe(true);
		expect(failure.status).toBe(400);
		expect(failure.data).toEqual({
			code: 'invalid_data',
			message: expect.stringContaining('Data for topic "chat" fails its schema'),
			topic: 'chat',
			issues: [{ message: expect.any(String), path: ['text'] }],
		});
		// Only what the form shows: zod's own fields (its code, the input) stay on the server.
		expect(Object.keys(failure.data.issues?.[0] ?? {})).toEqual(['message', 'path']);
	});

	it('turns an unknown topic into fail(400) naming it', async () => {
		const caught = await refusal((h) =>
			h.publish('lobby' as 'chat', { text: 'hi' } as Topics['chat']),
		);
		const failure = actionFailure(caught);
		expect(failure.status).toBe(400);
		expect(failure.data).toMatchObject({ code: 'unknown_topic', topics: ['lobby'] });
		expect(failure.data.issues).toBeUndefined();
	});

	it('rethrows what is not the caller’s fault: a closed hub (503), any other error', async () => {
		const closed = await refusal(async (h) => {
			await h.close();
			return h.publish('chat', { text: 'hi' });
		});
		expect(() => actionFailure(closed)).toThrow(closed as Error);
		const bug = new TypeError('boom');
		expect(() => actionFailure(bug)).toThrow(bug);
	});
});

describe('httpError', () => {
	it('throws Kit’s error(400) with the refusal’s fields as its body', async () => {
		const caught = await refusal((h) => h.publish('chat', { text: '' }));
		let thrown: unknown;
		try {
			httpError(caught);
		} catch (error) {
			thrown = error;
		}
		expect(isHttpError(thrown, 400)).toBe(true);
		expect((thrown as { body: unknown }).body).toMatchObject({
			code: 'invalid_data',
			message: expect.stringContaining('fails its schema'),
			issues: [{ path: ['text'] }],
		});
	});

	it('rethrows what is not the caller’s fault', () => {
		const bug = new Error('boom');
		expect(() => httpError(bug)).toThrow(bug);
	});
});
