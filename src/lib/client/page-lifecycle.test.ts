// What browsers do to pages: the back/forward cache (pagehide, pageshow) and freezing (freeze,
// resume), in jsdom with the scripted EventSource; a real Chromium restoring a page from its
// cache: tests/e2e/shared-connection.test.ts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeEventSource } from '../testing/fake-event-source.js';
import { installFakeLocks } from '../testing/fake-locks.js';
import { SSEClient } from './sse-client.svelte.js';

type Topics = { chat: { n: number } };

const clients: SSEClient<Topics>[] = [];
afterEach(() => {
	for (const client of clients.splice(0)) client.close();
});
beforeEach(() => FakeEventSource.reset());

function pageTransition(type: 'pagehide' | 'pageshow', persisted: boolean): Event {
	const event = new Event(type);
	Object.defineProperty(event, 'persisted', { value: persisted });
	return event;
}

function makeClient(share = false) {
	const delivered: number[] = [];
	const client = new SSEClient<Topics>('/api/events', {
		EventSource: FakeEventSource,
		autoConnect: false,
		share,
		topics: { chat: (data) => delivered.push(data.n) },
	});
	clients.push(client);
	client.connect();
	return { client, delivered };
}

describe.each([
	['pagehide', 'pageshow'],
	['freeze', 'resume'],
] as const)('on %s, then %s', (away, back) => {
	function leave() {
		if (away === 'pagehide') window.dispatchEvent(pageTransition('pagehide', true));
		else document.dispatchEvent(new Event('freeze'));
	}
	function come(persisted = true) {
		if (back === 'pageshow') window.dispatchEvent(pageTransition('pageshow', persisted));
		else document.dispatchEvent(new Event('resume'));
	}

	it('a tab alone closes its stream, and reopens it from its position when the page is back', () => {
		const { delivered } = makeClient();
		const first = FakeEventSource.latest;
		first.open();
		first.emitJSON('chat', { n: 1 }, 'e-1');
		leave();
		expect(first.closed).toBe(true);
		expect(FakeEventSource.openInstances).toHaveLength(0);
		come();
		const next = FakeEventSource.latest;
		expect(next).not.toBe(first);
		expect(next.param('lastEventId')).toBe('e-1');
		next.open();
		next.emitJSON('chat', { n: 1 }, 'e-1'); // the replay may repeat what it had: dropped
		next.emitJSON('chat', { n: 2 }, 'e-2');
		expect(delivered).toEqual([1, 2]);
	});

	it('a shared tab gives up its lock and comes back to the group', async () => {
		const { uninstall, locks } = installFakeLocks();
		try {
			makeClient(true);
			await vi.waitFor(() => expect(FakeEventSource.openInstances).toHaveLength(1));
			expect(locks.held.size).toBe(2); // the leader's lock, and its own as a member
			leave();
			expect(FakeEventSource.openInstances).toHaveLength(0);
			await vi.waitFor(() => expect(locks.held.size).toBe(0));
			come();
			await vi.waitFor(() => expect(FakeEventSource.openInstances).toHaveLength(1));
			expect(locks.held.size).toBe(2); // the leader's lock, and its own as a member
		} finally {
			uninstall();
		}
	});
});

it('a pageshow that is not a restore from the cache changes nothing', () => {
	makeClient();
	const source = FakeEventSource.latest;
	window.dispatchEvent(pageTransition('pageshow', false));
	expect(FakeEventSource.latest).toBe(source);
	expect(source.closed).toBe(false);
});
