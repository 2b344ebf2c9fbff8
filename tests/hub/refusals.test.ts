/** The refusals of the wire protocol, over a real HTTP server: status, JSON body, headers. */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
	createSSEHub,
	memoryHistory,
	type SSEHub,
	SSEValidationError,
} from '../../src/lib/server/index.js';
import { requestEvent } from '../../src/lib/testing/request-event.js';
import { serveHandler, type TestServer } from '../helpers/hub-server.js';

type Topics = { chat: { text: string }; logs: string; admin: number };

let server: TestServer | undefined;
let hub: SSEHub<Topics> | undefined;

afterEach(async () => {
	await hub?.close();
	await server?.close();
	hub = server = undefined;
});

async function start(options: Partial<Parameters<typeof createSSEHub<Topics>>[0]> = {}) {
	hub = createSSEHub<Topics>({
		topics: ['chat', 'logs', 'admin'],
		closeOnSignals: false,
		...options,
	});
	server = await serveHandler(hub.handler());
	return server.origin;
}

async function refusal(response: Response) {
	expect(response.headers.get('content-type')).toMatch(/application\/json/);
	const body = (await response.json()) as {
		error: { code: string; message: string; topics?: string[] };
	};
	return { status: response.status, ...body.error };
}

describe('refusals before the stream starts', () => {
	it('400 for unknown, malformed, missing and too many topics, naming them', async () => {
		const origin = await start({ limits: { maxTopics: 3 } });
		const unknown = await refusal(
			await fetch(`${origin}/?topics=chat&topics=weather&topics=sports`),
		);
		expect(unknown).toMatchObject({
			status: 400,
			code: 'unknown_topic',
			topics: ['weather', 'sports'],
		});
		expect(unknown.message).toContain('weather, sports');

		const injected = await refusal(
			await fetch(`${origin}/?topics=${encodeURIComponent('chat\ndata: x')}`),
		);
		expect(injected).toMatchObject({
			status: 400,
			code: 'invalid_topic',
			topics: ['chat\ndata: x'],
		});
		const reserved = await refusal(await fetch(`${origin}/?topics=sse:ready`));
		expect(reserved).toMatchObject({ status: 400, code: 'invalid_topic' });

		expect(await refusal(await fetch(`${origin}/`))).toMatchObject({
			status: 400,
			code: 'no_topics',
		});
		const many = await refusal(
			await fetch(`${origin}/?topics=chat&topics=logs&topics=admin&topics=weather`),
		);
		expect(many).toMatchObject({ status: 400, code: 'too_many_topics' });
	});

	it('400 for a history parameter that names a topic the request does not ask for', async () => {
		const origin = await start();
		const stray = await refusal(await fetch(`${origin}/?topics=chat&history=chat&history=logs`));
		expect(stray).toMatchObject({ status: 400, code: 'invalid_history', topics: ['logs'] });
		expect(stray.message).toContain('logs');
		const fine = await fetch(`${origin}/?topics=chat&topics=logs&history=logs`);
		expect(fine.status).toBe(200);
		await fine.body?.cancel();
	});

	it('401 when no session can be resolved, 403 when authorize refuses', async () => {
		const origin = await start({
			session: ({ request }) => request.headers.get('x-user'),
			authorize: ({ session, topics }) => session === 'root' || !topics.includes('admin'),
		});
		expect(await refusal(await fetch(`${origin}/?topics=chat`))).toMatchObject({
			status: 401,
			code: 'unauthorized',
		});
		const forbidden = await fetch(`${origin}/?topics=admin`, { headers: { 'x-user': 'ann' } });
		expect(await refusal(forbidden)).toMatchObject({ status: 403, code: 'forbidden' });
		const allowed = await fetch(`${origin}/?topics=admin`, { headers: { 'x-user': 'root' } });
		expect(allowed.status).toBe(200);
		await allowed.body?.cancel();
	});

	it('HEAD answers as GET would, without opening a stream (what SSEClient asks after a failure)', async () => {
		const origin = await start({
			limits: { maxConnectionsPerSession: 1, retryAfterSeconds: 7 },
			authorize: ({ event, topics }) =>
				!topics.includes('admin') || event.request.headers.get('x-user') === 'root',
		});
		const head = (query: string, headers: Record<string, string> = {}) =>
			fetch(`${origin}/?${query}`, { method: 'HEAD', headers });
		const fine = await head('topics=chat');
		expect(fine.status).toBe(200);
		expect(fine.headers.get('content-type')).toMatch(/^text\/event-stream/);
		expect(await fine.text()).toBe('');
		expect((await hub?.stats())?.connections).toBe(0);
		expect((await head('topics=weather')).status).toBe(400);
		expect((await head('topics=admin')).status).toBe(403);

		const cookie = (fine.headers.get('set-cookie') ?? '').split(';')[0] as string;
		const stream = await fetch(`${origin}/?topics=chat`, { headers: { cookie } });
		expect(stream.status).toBe(200);
		const full = await head('topics=chat', { cookie });
		expect(full.status).toBe(429);
		expect(full.headers.get('retry-after')).toBe('7');
		await stream.body?.cancel();
		await expect.poll(async () => (await head('topics=chat', { cookie })).status).toBe(200);
		// The probes counted no stream: once the one stream ended, the session had room again.
		expect((await hub?.stats())?.connections).toBe(0);
	});

	it('authorize can narrow the topics to the allowed ones', async () => {
		const origin = await start({ authorize: () => ({ allowedTopics: ['chat'] }) });
		const response = await fetch(`${origin}/?topics=chat&topics=admin`);
		expect(response.status).toBe(200);
		const reader = response.body?.getReader();
		await hub?.publish('admin', 1);
		await hub?.publish('chat', { text: 'hi' });
		let text = '';
		while (!text.includes('event: chat')) {
			const { value } = (await reader?.read()) ?? {};
			text += new TextDecoder().decode(value);
		}
		expect(text).not.toContain('event: admin');
		await reader?.cancel();
	});

	it('429 with Retry-After past the per-session connection limit, and room again once one closes', async () => {
		const origin = await start({ limits: { maxConnectionsPerSession: 2, retryAfterSeconds: 7 } });
		const first = await fetch(`${origin}/?topics=chat`);
		const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0] as string;
		expect(cookie).toMatch(/^sse_session=[\w-]{16,}$/);
		const second = await fetch(`${origin}/?topics=chat`, { headers: { cookie } });
		expect(second.status).toBe(200);
		const third = await fetch(`${origin}/?topics=chat`, { headers: { cookie } });
		expect(third.headers.get('retry-after')).toBe('7');
		expect(await refusal(third)).toMatchObject({ status: 429, code: 'too_many_connections' });
		// Another session is not affected.
		const other = await fetch(`${origin}/?topics=chat`);
		expect(other.status).toBe(200);

		await second.body?.cancel();
		await expect.poll(async () => (await hub?.stats())?.connections).toBe(2);
		const again = await fetch(`${origin}/?topics=chat`, { headers: { cookie } });
		expect(again.status).toBe(200);
		for (const response of [first, other, again]) await response.body?.cancel();
	});

	it('the default session cookie is httpOnly and SameSite=Lax, and a forged value is replaced', async () => {
		const origin = await start();
		const response = await fetch(`${origin}/?topics=chat`, {
			headers: { cookie: 'sse_session=x' },
		});
		const setCookie = response.headers.get('set-cookie') ?? '';
		expect(setCookie).toMatch(
			/^sse_session=[\w-]{16,}; Path=\/; Max-Age=\d+; HttpOnly; SameSite=lax/i,
		);
		await response.body?.cancel();
	});
});

describe('sessionOf', () => {
	it('names the session of another request the way the stream handler does', async () => {
		const origin = await start();
		const stream = await fetch(`${origin}/?topics=chat`);
		const cookie = (stream.headers.get('set-cookie') ?? '').split(';')[0] as string;
		const id = cookie.split('=')[1];
		const setCookies: string[] = [];
		const sameBrowser = requestEvent(
			new Request(`${origin}/api/x`, { headers: { cookie } }),
			setCookies,
		);
		expect(await hub?.sessionOf(sameBrowser)).toBe(id);
		expect(setCookies).toEqual([]);
		// A request without the cookie gets a new session, and the cookie that names it.
		const stranger = await hub?.sessionOf(requestEvent(new Request(`${origin}/api/x`), setCookies));
		expect(stranger).toMatch(/^[\w-]{16,}$/);
		expect(stranger).not.toBe(id);
		expect(setCookies).toEqual([expect.stringContaining(`sse_session=${stranger}`)]);
		await stream.body?.cancel();
	});
});

describe('publish', () => {
	it('refuses data that fails its schema with the issues, storing nothing', async () => {
		await start({ schemas: { chat: z.object({ text: z.string().min(1) }) } });
		const before = await hub?.stats();
		const refused = hub?.publish('chat', { text: '' });
		await expect(refused).rejects.toBeInstanceOf(SSEValidationError);
		await expect(refused).rejects.toMatchObject({
			code: 'invalid_data',
			issues: [expect.objectContaining({ message: expect.any(String) })],
		});
		expect((await hub?.stats())?.head).toBe(before?.head);
		await expect(hub?.publish('chat', { text: 'ok' })).resolves.toMatch(/^\w+-1$/);
	});

	it('refuses an undeclared topic and data JSON cannot carry', async () => {
		await start();
		// @ts-expect-error: the topic is not declared, which the types catch too
		await expect(hub?.publish('weather', 1)).rejects.toMatchObject({ code: 'unknown_topic' });
		await expect(hub?.publish('logs', undefined as unknown as string)).rejects.toMatchObject({
			code: 'invalid_data',
		});
		expect((await hub?.stats())?.head).toBe(0);
	});

	it('refuses everything once the hub is closed', async () => {
		await start();
		await hub?.close();
		await expect(hub?.publish('logs', 'late')).rejects.toMatchObject({ code: 'hub_closed' });
		const response = await fetch(`${server?.origin}/?topics=logs`);
		expect(await refusal(response)).toMatchObject({ status: 503, code: 'hub_closed' });
	});

	it('refuses a stream that was still being set up when the hub closed', async () => {
		// A store whose record of the new stream is held until the hub has closed.
		const history = memoryHistory();
		let release = () => {};
		const held = new Promise<void>((resolve) => {
			release = resolve;
		});
		let recording = () => {};
		const recorded = new Promise<void>((resolve) => {
			recording = resolve;
		});
		const setCursorRecord = history.setCursorRecord.bind(history);
		history.setCursorRecord = async (session, record) => {
			if (record.to === null) {
				recording();
				await held;
			}
			return setCursorRecord(session, record);
		};
		const origin = await start({ history });
		const response = fetch(`${origin}/?topics=logs`);
		await recorded;
		const closing = hub?.close();
		release();
		await closing;
		const refused = await response;
		expect(await refusal(refused)).toMatchObject({ status: 503, code: 'hub_closed' });
		// Nothing is left open: the record it made is ended.
		const session = (refused.headers.get('set-cookie') ?? '').split(';')[0]?.split('=')[1];
		const records = await history.cursorRecords(session as string);
		expect(records?.map((record) => record.to === null)).toEqual([false]);
	});
});
