// A scriptable `EventSource` for tests: pass the class as the client's `EventSource` option, then
// drive each instance by hand (`open()`, `emit()`, `error()`). It follows the WHATWG spec where
// the client could notice (ready states, `lastEventId` kept from one event to the next) and
// records every instance so a test can count connections and see which ones are still open.
//
// Test-only: it is not exported from the library.
import type { EventSourceLike } from '../client/sse-client.svelte.js';

type Listener = (event: MessageEvent) => void;

export interface FakeErrorOptions {
	/** The browser gave up (HTTP error, wrong content type): `readyState` becomes CLOSED. Otherwise
	 * it is reconnecting by itself: CONNECTING. @default false */
	close?: boolean;
	/** The HTTP status, set on the event as `status` (as `event-source-polyfill` reports it). */
	status?: number;
	/** The HTTP status, set on the event as `code` (as the `eventsource` package reports it). */
	code?: number;
}

export class FakeEventSource implements EventSourceLike {
	static readonly CONNECTING = 0;
	static readonly OPEN = 1;
	static readonly CLOSED = 2;
	readonly CONNECTING = 0;
	readonly OPEN = 1;
	readonly CLOSED = 2;

	/** Every instance constructed since the last `reset()`, oldest first. */
	static instances: FakeEventSource[] = [];
	/** The most instances that were not CLOSED at one time, checked at each construction. */
	static peakOpen = 0;

	/** Forgets every instance; call it in `beforeEach`. */
	static reset(): void {
		FakeEventSource.instances = [];
		FakeEventSource.peakOpen = 0;
	}

	/** The newest instance; throws when none was constructed. */
	static get latest(): FakeEventSource {
		const source = FakeEventSource.instances.at(-1);
		if (!source) throw new Error('FakeEventSource: no instance was constructed');
		return source;
	}

	/** Instances whose `readyState` is not CLOSED. */
	static get openInstances(): FakeEventSource[] {
		return FakeEventSource.instances.filter((source) => !source.closed);
	}

	readonly url: string;
	/** The second constructor argument, exactly as the client passed it. */
	readonly init: Record<string, unknown> | undefined;
	readonly withCredentials: boolean;
	readyState = FakeEventSource.CONNECTING;
	/** The spec's "last event ID buffer": set by an `id:` field, kept until the next one. */
	lastEventId = '';
	/** How many times `close()` was called (by the client, not by `error({ close: true })`). */
	closeCalls = 0;
	readonly #listeners = new Map<string, Set<Listener>>();

	constructor(url: string, init?: Record<string, unknown>) {
		this.url = url;
		this.init = init;
		this.withCredentials = init?.withCredentials === true;
		FakeEventSource.instances.push(this);
		FakeEventSource.peakOpen = Math.max(
			FakeEventSource.peakOpen,
			FakeEventSource.openInstances.length,
		);
	}

	/** True once `readyState` is CLOSED, by `close()` or by `error({ close: true })`. */
	get closed(): boolean {
		return this.readyState === FakeEventSource.CLOSED;
	}

	/** The `topics` query parameters of the URL, in order. */
	get topics(): string[] {
		return new URL(this.url, 'http://localhost').searchParams.getAll('topics');
	}

	/** A query parameter of the URL (`lastEventId`, for instance), or null. */
	param(name: string): string | null {
		return new URL(this.url, 'http://localhost').searchParams.get(name);
	}

	addEventListener(type: string, listener: Listener): void {
		let set = this.#listeners.get(type);
		if (!set) {
			set = new Set();
			this.#listeners.set(type, set);
		}
		set.add(listener);
	}

	removeEventListener(type: string, listener: Listener): void {
		this.#listeners.get(type)?.delete(listener);
	}

	close(): void {
		this.closeCalls++;
		this.readyState = FakeEventSource.CLOSED;
	}

	/** The server answered 200 with `text/event-stream`. */
	open(): void {
		this.#assertLive('open');
		this.readyState = FakeEventSource.OPEN;
		this.#dispatch(new Event('open') as MessageEvent);
	}

	/**
	 * One event as the stream would carry it: `data` is the raw `data:` text (not JSON-encoded, so
	 * a test can send bad JSON). `id`, when given, becomes `lastEventId` for this event and the
	 * following ones, as in a browser.
	 */
	emit(type: string, data: string, id?: string): void {
		this.#assertLive('emit');
		if (id !== undefined) this.lastEventId = id;
		this.#dispatch(new MessageEvent(type, { data, lastEventId: this.lastEventId }));
	}

	/** `emit` with `value` encoded as JSON. */
	emitJSON(type: string, value: unknown, id?: string): void {
		this.emit(type, JSON.stringify(value), id);
	}

	/** The connection failed: reconnecting by itself (default), or given up (`close: true`). */
	error({ close = false, status, code }: FakeErrorOptions = {}): void {
		this.#assertLive('error');
		this.readyState = close ? FakeEventSource.CLOSED : FakeEventSource.CONNECTING;
		const event = new Event('error');
		if (status !== undefined) Object.defineProperty(event, 'status', { value: status });
		if (code !== undefined) Object.defineProperty(event, 'code', { value: code });
		this.#dispatch(event as MessageEvent);
	}

	/** A closed EventSource never fires again; driving one is a mistake in the test. */
	#assertLive(action: string): void {
		if (this.closed) {
			throw new Error(`FakeEventSource: ${action}() on a closed instance (${this.url})`);
		}
	}

	#dispatch(event: MessageEvent): void {
		for (const listener of [...(this.#listeners.get(event.type) ?? [])]) listener(event);
	}
}
