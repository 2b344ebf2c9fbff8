// The client inside real Svelte components (browser build, jsdom): shared through context,
// rendered reactively, connected on mount and closed on destroy, once.
import { render, screen } from '@testing-library/svelte';
import { flushSync } from 'svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import Child from '../testing/components/Child.svelte';
import Provider from '../testing/components/Provider.svelte';
import { FakeEventSource } from '../testing/fake-event-source.js';

beforeEach(() => {
	FakeEventSource.reset();
});

const text = (testId: string) => screen.getByTestId(testId).textContent;

describe('setSSEContext / getSSEContext', () => {
	it('a child renders the shared client status and messages as they arrive', () => {
		render(Provider, { EventSource: FakeEventSource, url: '/api/events' });
		expect(FakeEventSource.instances).toHaveLength(1);
		const source = FakeEventSource.latest;
		expect(source.url).toMatch(/^\/api\/events\?topics=chat&client=[\w-]+$/);
		expect(text('status')).toBe('connecting');
		expect(text('count')).toBe('0');

		source.open();
		flushSync();
		expect(text('status')).toBe('connected');
		expect(text('provider-status')).toBe('connected');

		source.emitJSON('chat', { text: 'hello' }, 'e-1');
		source.emitJSON('chat', { text: 'world' }, 'e-2');
		flushSync();
		expect(text('count')).toBe('2');
		expect(screen.getAllByRole('listitem').map((item) => item.textContent)).toEqual([
			'hello',
			'world',
		]);

		source.error();
		flushSync();
		expect(text('status')).toBe('connecting');
	});

	it('creates exactly one EventSource: its own state changes do not re-run the connect effect', () => {
		render(Provider, { EventSource: FakeEventSource });
		const source = FakeEventSource.latest;
		source.open();
		flushSync();
		for (let n = 1; n <= 50; n++) {
			source.emitJSON('chat', { text: `m${n}` }, `e-${n}`);
			flushSync();
		}
		source.error();
		flushSync();
		source.open();
		source.emitJSON('sse:ready', { replayed: 0 });
		flushSync();
		expect(text('count')).toBe('50');
		expect(text('status')).toBe('connected');
		expect(FakeEventSource.instances).toHaveLength(1);
		expect(source.closed).toBe(false);
	});

	it('unmounting closes the EventSource, and nothing reconnects afterwards', () => {
		const { unmount } = render(Provider, { EventSource: FakeEventSource });
		const source = FakeEventSource.latest;
		source.open();
		flushSync();
		unmount();
		expect(source.closed).toBe(true);
		expect(source.closeCalls).toBeGreaterThanOrEqual(1);
		window.dispatchEvent(new Event('online'));
		expect(FakeEventSource.instances).toHaveLength(1);
		expect(FakeEventSource.openInstances).toHaveLength(0);
	});

	it('getSSEContext without a provider throws an error that says what to do', () => {
		expect(() => render(Child)).toThrow(/No SSEClient in context: call setSSEContext/);
	});
});
