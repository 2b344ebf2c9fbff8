// Tabs sharing one stream, played by clients of one jsdom: each has its own BroadcastChannel and
// lock request, as tabs do, over a fake `navigator.locks` and the scripted EventSource. (The same
// in a real Chromium, tabs and page lifecycle included: tests/e2e/shared-connection.test.ts.)
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource } from '../testing/fake-event-source.js';
import { type FakeLockManager, installFakeLocks } from '../testing/fake-locks.js';
import { SSEClient, type SSEClientOptions, type SSEGap } from './sse-client.svelte.js';

type Topics = { chat: { n: number }; logs: { n: number }; alerts: { n: number } };
type Topic = keyof Topics;

let locks: FakeLockManager;
let uninstall: () => void;
const tabs: SSEClient<Topics>[] = [];

beforeEach(() => {
	FakeEventSource.reset();
	({ locks, uninstall } = installFakeLocks());
});

afterEach(() => {
	for (const tab of tabs.splice(0)) tab.close();
	uninstall();
});

/** A tab: one client, with what it delivered per topic (as `<topic>:<n>`) and the gaps it heard. */
function openTab(topics: Topic[], options: SSEClientOptions<Topics> = {}) {
	const delivered: string[] = [];
	const gaps: SSEGap[] = [];
	const client = new SSEClient<Topics>('/api/events', {
		EventSource: FakeEventSource,
		autoConnect: false,
		topics,
		onGap: (gap) => gaps.push(gap),
		...options,
	});
	for (const topic of ['chat', 'logs', 'alerts'] as const) {
		client.on(topic, (data) => delivered.push(`${topic}:${data.n}`));
	}
	tabs.push(client);
	client.connect();
	return { client, delivered, gaps };
}

/** The one open EventSource, once the leader has opened it (and after it reopens, the new one). */
async function sharedSource(): Promise<FakeEventSource> {
	await vi.waitFor(() => expect(FakeEventSource.openInstances).toHaveLength(1));
	return FakeEventSource.openInstances[0] as FakeEventSource;
}

/** Waits until the open EventSource is not `previous`: the leader reopened. */
async function reopened(previous: FakeEventSource): Promise<FakeEventSource> {
	await vi.waitFor(() => {
		expect(FakeEventSource.openInstances).toHaveLength(1);
		expect(FakeEventSource.openInstances[0]).not.toBe(previous);
	});
	return FakeEventSource.openInstances[0] as FakeEventSource;
}

/** The open EventSource once it carries exactly `topics` (the leader reopens as tabs join). */
async function sourceFor(...topics: Topic[]): Promise<FakeEventSource> {
	let source = await sharedSource();
	await vi.waitFor(async () => {
		source = await sharedSource();
		expect(new Set(source.topics)).toEqual(new Set(topics));
	});
	return source;
}

/** Opens the stream and ends its (empty) replay at `position`. */
function ready(source: FakeEventSource, position = 'e-0'): void {
	source.open();
	source.emitJSON('sse:ready', { replayed: 0, lastEventId: position });
}

describe('tabs sharing one stream', () => {
	it('one EventSource for every tab’s topics; each tab gets only its own', async () => {
		const a = openTab(['chat']);
		const b = openTab(['logs']);
		// The second tab's join may come after the leader opened: it reopens for the union.
		const source = await sourceFor('chat', 'logs');
		ready(source);
		source.emitJSON('chat', { n: 1 }, 'e-1');
		source.emitJSON('logs', { n: 2 }, 'e-2');
		await vi.waitFor(() => {
			expect(a.delivered).toEqual(['chat:1']);
			expect(b.delivered).toEqual(['logs:2']);
		});
		expect(FakeEventSource.peakOpen).toBe(1);
		// Both follow the shared stream: status, position, and who holds it.
		await vi.waitFor(() => {
			for (const tab of [a, b]) {
				expect(tab.client.status).toBe('connected');
				expect(tab.client.lastEventID).toBe('e-2');
				expect(tab.client.sharing?.tabs).toBe(2);
			}
		});
		expect([a, b].filter((tab) => tab.client.sharing?.leader)).toHaveLength(1);
	});

	it('the next tab takes over when the leader closes, resuming from the shared position with the same client id', async () => {
		const a = openTab(['chat']);
		await sharedSource();
		const b = openTab(['chat']);
		let source = await sharedSource();
		await vi.waitFor(() => expect(b.client.sharing?.tabs).toBe(2));
		source = await sharedSource();
		ready(source);
		source.emitJSON('chat', { n: 1 }, 'e-1');
		await vi.waitFor(() => expect(b.delivered).toEqual(['chat:1']));
		const client = source.param('client');
		const leader = a.client.sharing?.leader ? a : b;
		const other = leader === a ? b : a;
		leader.client.close();
		const next = await reopened(source);
		expect(next.param('lastEventId')).toBe('e-1');
		expect(next.param('client')).toBe(client);
		ready(next, 'e-1');
		next.emitJSON('chat', { n: 1 }, 'e-1'); // a replay repeats what it had: dropped
		next.emitJSON('chat', { n: 2 }, 'e-2');
		await vi.waitFor(() => expect(other.delivered).toEqual(['chat:1', 'chat:2']));
		expect(other.client.sharing).toEqual({ leader: true, tabs: 1 });
	});

	it('a tab that adds a topic the stream already carries gets its history; the others see no repeat', async () => {
		const a = openTab(['chat']);
		await sharedSource();
		const b = openTab(['logs']);
		const source = await sourceFor('chat', 'logs');
		ready(source);
		source.emitJSON('chat', { n: 1 }, 'e-1');
		source.emitJSON('chat', { n: 2 }, 'e-2');
		await vi.waitFor(() => expect(a.delivered).toEqual(['chat:1', 'chat:2']));
		await vi.waitFor(() => expect(b.client.lastEventID).toBe('e-2'));

		b.client.updateTopics({ addTopics: ['chat'] });
		// The old stream goes on until the leader hears of it: b holds chat back meanwhile, or the
		// history that comes next would look like repeats to it.
		source.emitJSON('chat', { n: 3 }, 'e-3');
		const next = await reopened(source);
		expect(next.param('lastEventId')).toBe('e-3');
		expect(new URL(next.url, 'http://localhost').searchParams.getAll('history')).toEqual(['chat']);
		next.open();
		// The hub replays chat's history for b; a has it already.
		next.emitJSON('chat', { n: 1 }, 'e-1');
		next.emitJSON('chat', { n: 2 }, 'e-2');
		next.emitJSON('chat', { n: 3 }, 'e-3');
		next.emitJSON('sse:ready', { replayed: 3, lastEventId: 'e-3' });
		next.emitJSON('chat', { n: 4 }, 'e-4');
		const all = ['chat:1', 'chat:2', 'chat:3', 'chat:4'];
		await vi.waitFor(() => expect(b.delivered).toEqual(all));
		await vi.waitFor(() => expect(a.delivered).toEqual(all));
		expect(a.client.topicCounters.chat).toBe(4);
		expect(b.client.topicCounters.chat).toBe(4);
	});

	it('a reopen for one tab is no reconnect for the others: they stay connected, not replaying', async () => {
		const a = openTab(['chat']);
		const first = await sharedSource();
		ready(first, 'e-0');
		first.emitJSON('chat', { n: 1 }, 'e-1');
		await vi.waitFor(() => expect(a.client.replaying).toBe(false));
		const seen: Array<[string, boolean]> = [];
		const stop = $effect.root(() => {
			$effect(() => {
				seen.push([a.client.status, a.client.replaying]);
			});
		});
		const b = openTab(['chat']); // fresh: it wants chat's first-connection history, so the leader reopens
		const next = await reopened(first);
		const params = new URL(next.url, 'http://localhost').searchParams;
		expect(params.getAll('first')).toEqual(['chat']);
		expect(params.getAll('history')).toEqual([]);
		await vi.waitFor(() => expect(b.client.replaying).toBe(true));
		next.open();
		next.emitJSON('chat', { n: 1 }, 'e-1');
		next.emitJSON('sse:ready', { replayed: 1, lastEventId: 'e-1' });
		next.emitJSON('chat', { n: 2 }, 'e-2');
		await vi.waitFor(() => expect(b.delivered).toEqual(['chat:1', 'chat:2']));
		await vi.waitFor(() => expect(a.delivered).toEqual(['chat:1', 'chat:2']));
		expect(b.client.replaying).toBe(false);
		stop();
		expect(seen.every(([status, replaying]) => status === 'connected' && !replaying)).toBe(true);
	});

	it('a tab started from a snapshot position is served from it: what came after, once', async () => {
		const a = openTab(['chat'], { lastEventID: 'e-2' });
		const first = await sharedSource();
		const params = new URL(first.url, 'http://localhost').searchParams;
		expect(params.get('lastEventId')).toBe('e-2');
		expect(params.getAll('had')).toEqual(['chat']);
		ready(first, 'e-2');
		first.emitJSON('chat', { n: 3 }, 'e-3');
		await vi.waitFor(() => expect(a.delivered).toEqual(['chat:3']));
		// Its snapshot ended at e-3; the leader's stream is already past it.
		const b = openTab(['chat'], { lastEventID: 'e-3' });
		first.emitJSON('chat', { n: 4 }, 'e-4');
		const next = await reopened(first);
		expect(new URL(next.url, 'http://localhost').searchParams.get('lastEventId')).toBe('e-3');
		next.open();
		next.emitJSON('chat', { n: 4 }, 'e-4');
		next.emitJSON('sse:ready', { replayed: 1, lastEventId: 'e-4' });
		next.emitJSON('chat', { n: 5 }, 'e-5');
		await vi.waitFor(() => expect(b.delivered).toEqual(['chat:4', 'chat:5']));
		await vi.waitFor(() => expect(a.delivered).toEqual(['chat:3', 'chat:4', 'chat:5']));
		expect(b.client.lastEventID).toBe('e-5');
	});

	it('a gap is told to the tabs whose topics it names', async () => {
		const a = openTab(['chat']);
		await sharedSource();
		const b = openTab(['logs']);
		const source = await sourceFor('chat', 'logs');
		source.open();
		source.emitJSON('sse:gap', { reason: 'expired', topics: ['logs'] });
		source.emitJSON('sse:gap', { reason: 'epoch', topics: ['chat', 'logs'] });
		await vi.waitFor(() =>
			expect(b.gaps).toEqual([
				{ reason: 'expired', topics: ['logs'] },
				{ reason: 'epoch', topics: ['logs'] },
			]),
		);
		expect(a.gaps).toEqual([{ reason: 'epoch', topics: ['chat'] }]);
	});

	it('asks no history of a topic a tab added and dropped again before the stream reopened', async () => {
		openTab(['chat']);
		const source = await sharedSource();
		const b = openTab(['chat']);
		await vi.waitFor(() => expect(b.client.sharing?.tabs).toBe(2));
		const current = await sharedSource();
		b.client.updateTopics({ addTopics: ['alerts'] });
		b.client.updateTopics({ removeTopics: ['alerts'] });
		await vi.waitFor(async () => {
			const open = await sharedSource();
			expect(open).not.toBe(source);
			expect(open).not.toBe(current);
		});
		const next = await sharedSource();
		expect(next.topics).toEqual(['chat']);
		// The hub refuses (400) a history topic the request does not name.
		expect(new URL(next.url, 'http://localhost').searchParams.getAll('history')).toEqual([]);
	});

	it('a refused stream (401) stops every tab, each after one try, and holds no lock', async () => {
		const a = openTab(['chat']);
		const b = openTab(['chat']);
		for (let attempt = 0; attempt < 2; attempt++) {
			const source = await sharedSource();
			source.error({ close: true, status: 401 });
		}
		await vi.waitFor(() => {
			for (const tab of [a, b]) {
				expect(tab.client.status).toBe('error');
				expect(tab.client.error?.code).toBe('unauthorized');
			}
		});
		await vi.waitFor(() => expect(locks.held.size).toBe(0));
		expect(FakeEventSource.openInstances).toHaveLength(0);
		expect(FakeEventSource.instances.length).toBeLessThanOrEqual(4);
	});

	it('with share: false, or without Web Locks, each tab has a stream of its own', async () => {
		openTab(['chat'], { share: false });
		openTab(['chat'], { share: false });
		expect(FakeEventSource.openInstances).toHaveLength(2);
		expect(tabs.every((tab) => tab.sharing === null)).toBe(true);
		uninstall();
		openTab(['logs']);
		expect(FakeEventSource.openInstances).toHaveLength(3);
		expect(locks.held.size).toBe(0);
	});
});
