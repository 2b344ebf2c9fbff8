// createSSEHub's options, through its handler: what it refuses at startup, and which of the
// stream's timings wins when both `stream` and the deprecated fields of `limits` set one. The
// parts have their own tests beside them (connect, publish and fan-out over HTTP in tests/hub).
import { afterEach, describe, expect, it } from 'vitest';
import { isReady, openHubStream } from '../../testing/hub-stream.js';
import { SSEConfigError } from '../errors.js';
import type { TopicMap } from '../transport/index.js';
import { createSSEHub } from './hub.js';
import type { SSEHub, SSEHubOptions } from './types.js';

type Topics = { logs: { n: number } };
const hubs: SSEHub<Topics>[] = [];

afterEach(async () => {
	for (const hub of hubs.splice(0)) await hub.close();
});

function start(options: Partial<SSEHubOptions<Topics>>) {
	const hub = createSSEHub<Topics>({ topics: ['logs'], closeOnSignals: false, ...options });
	hubs.push(hub);
	return hub;
}

/** A stream of `hub` that has read its replay (none) and `sse:ready`. */
async function ready(hub: SSEHub<Topics>) {
	const client = await openHubStream(hub, 'topics=logs');
	await client.readUntil(() => isReady(client));
	return client;
}

describe('createSSEHub', () => {
	it('refuses no topics, or a topic the protocol refuses, with an SSEConfigError', () => {
		const invalid: string[][] = [
			[],
			['sse:ready'],
			['a\nb'],
			['logs', 'has space'],
			['x'.repeat(129)],
		];
		for (const topics of invalid) {
			let thrown: unknown;
			try {
				createSSEHub<TopicMap>({ topics, closeOnSignals: false });
			} catch (error) {
				thrown = error;
			}
			expect(thrown, JSON.stringify(topics)).toBeInstanceOf(SSEConfigError);
			expect(thrown).toBeInstanceOf(RangeError);
			expect((thrown as SSEConfigError).code).toBe('invalid_option');
			expect((thrown as Error).message).toMatch(/^createSSEHub: /);
		}
	});
});

describe('stream options', () => {
	it('stream.keepAliveMs wins over the deprecated limits.keepAliveMs', async () => {
		const often = await ready(
			start({ stream: { keepAliveMs: 40 }, limits: { keepAliveMs: 600_000 } }),
		);
		await often.readUntil(() => often.comments.length >= 1, 'a keep-alive', 2_000);
		expect(often.comments).toEqual(['keep-alive']);

		const never = await ready(start({ stream: { keepAliveMs: 0 }, limits: { keepAliveMs: 30 } }));
		await new Promise((resolve) => setTimeout(resolve, 200));
		await expect(
			never.readUntil(() => never.comments.length >= 1, 'a keep-alive', 100),
		).rejects.toThrow(/no data for 100 ms/);
		expect(never.comments).toEqual([]);
		await often.cancel();
		await never.cancel();
	});

	it('the deprecated limits.keepAliveMs still counts when stream leaves it out', async () => {
		const client = await ready(start({ limits: { keepAliveMs: 30 } }));
		await client.readUntil(() => client.comments.length >= 1, 'a keep-alive', 2_000);
		expect(client.comments).toEqual(['keep-alive']);
		await client.cancel();
	});

	it("spreads the streams' retry hints over [retryMs, retryMs + retryJitterMs], so a deploy's reconnects do not all come at once", async () => {
		const hub = start({ stream: { retryMs: 1000, retryJitterMs: 2000 } });
		const hints: number[] = [];
		for (let i = 0; i < 60; i++) {
			const client = await ready(hub);
			hints.push(...client.retries);
			await client.cancel();
		}
		expect(hints).toHaveLength(60);
		expect(Math.min(...hints)).toBeGreaterThanOrEqual(1000);
		expect(Math.max(...hints)).toBeLessThanOrEqual(3000);
		// Uniform in 50 ms steps: 60 draws from 41 values land on many of them, on both halves.
		expect(new Set(hints).size).toBeGreaterThan(15);
		expect(hints.some((hint) => hint < 2000) && hints.some((hint) => hint >= 2000)).toBe(true);
	});

	it('refuses a negative retryMs or retryJitterMs at startup', () => {
		expect(() =>
			createSSEHub({ topics: ['chat'], closeOnSignals: false, stream: { retryJitterMs: -1 } }),
		).toThrow(SSEConfigError);
		expect(() =>
			createSSEHub({ topics: ['chat'], closeOnSignals: false, stream: { retryMs: 1.5 } }),
		).toThrow(/retryMs must be a whole number/);
	});

	it('refuses an initialHistory or newTopicHistory that cannot work, naming it', async () => {
		const hub = (options: Partial<Parameters<typeof createSSEHub>[0]>) => () =>
			createSSEHub({ topics: ['chat'], closeOnSignals: false, ...options });
		expect(hub({ initialHistory: -1 })).toThrow(/initialHistory must be 'all', 'none'/);
		expect(hub({ initialHistory: { chat: 1.5 } })).toThrow(/initialHistory\.chat must be/);
		expect(hub({ initialHistory: { nope: 1 } })).toThrow(/"nope", which is not a declared topic/);
		expect(hub({ newTopicHistory: Number.NaN })).toThrow(SSEConfigError);
		await hub({ initialHistory: { chat: 'all' }, newTopicHistory: 0 })().close();
	});

	it('refuses a session cookie name or lifetime that cannot make a valid Set-Cookie, at startup', () => {
		const hub = (cookie: { name?: string; maxAgeSeconds?: number }) => () =>
			createSSEHub({ topics: ['chat'], closeOnSignals: false, cookie });
		expect(hub({ name: 'a b' })).toThrow(/cookie\.name must be a cookie name/);
		expect(hub({ name: 'sid;Domain=evil.example' })).toThrow(SSEConfigError);
		expect(hub({ maxAgeSeconds: 1.5 })).toThrow(/cookie\.maxAgeSeconds must be a whole number/);
		expect(hub({ maxAgeSeconds: -1 })).toThrow(SSEConfigError);
	});

	it('stream.retryMs wins over the deprecated limits.retryMs', async () => {
		const both = await ready(
			start({ stream: { retryMs: 1234, retryJitterMs: 0 }, limits: { retryMs: 999 } }),
		);
		const legacy = await ready(start({ limits: { retryMs: 999 }, stream: { retryJitterMs: 0 } }));
		expect(both.retries).toEqual([1234]);
		expect(legacy.retries).toEqual([999]);
		await both.cancel();
		await legacy.cancel();
	});
});
