// A test client on the real `eventsource` package (a WHATWG-conformant EventSource), with a
// cookie jar so reconnects keep their session as a browser's would, and a log of what arrived.
import { EventSource, type EventSourceFetchInit } from 'eventsource';

export interface Received {
	type: string;
	id: string;
	data: unknown;
}

/** `fetch` that keeps cookies across requests, like a browser does for same-origin EventSource. */
export function cookieFetch(jar: Map<string, string> = new Map()) {
	const wrapped = async (url: string | URL, init?: EventSourceFetchInit) => {
		const headers = new Headers(init?.headers);
		if (jar.size > 0) headers.set('cookie', [...jar].map(([k, v]) => `${k}=${v}`).join('; '));
		const response = await fetch(url, { ...init, headers });
		for (const cookie of response.headers.getSetCookie()) {
			const [pair = ''] = cookie.split(';');
			const [name = '', ...value] = pair.split('=');
			jar.set(name, value.join('='));
		}
		return response;
	};
	return Object.assign(wrapped, { jar });
}

export interface TestClient {
	source: EventSource;
	received: Received[];
	jar: Map<string, string>;
	/** Resolves when `predicate` holds over what was received (checked on every event). */
	until(
		predicate: (received: Received[]) => boolean,
		what: string,
		timeoutMs?: number,
	): Promise<void>;
	/** Resolves at the next `open` event. */
	opened(): Promise<void>;
	close(): void;
}

/**
 * Opens an EventSource on `url` and records every event of `types` (plus the `sse:` control
 * events) as `{ type, id, data }`, with data parsed as JSON.
 */
export function openClient(
	url: string,
	types: readonly string[],
	jar: Map<string, string> = new Map(),
): TestClient {
	const fetchWithCookies = cookieFetch(jar);
	const source = new EventSource(url, { fetch: fetchWithCookies });
	const received: Received[] = [];
	const waiters = new Set<() => void>();
	const notify = () => {
		for (const check of [...waiters]) check();
	};
	for (const type of [...types, 'sse:gap', 'sse:ready']) {
		source.addEventListener(type, (event) => {
			received.push({ type, id: event.lastEventId, data: JSON.parse(event.data) });
			notify();
		});
	}
	source.addEventListener('open', notify);
	source.addEventListener('error', notify);
	return {
		source,
		received,
		jar,
		until(predicate, what, timeoutMs = 10_000) {
			return new Promise((resolve, reject) => {
				const timer = setTimeout(() => {
					waiters.delete(check);
					reject(
						new Error(
							`Timed out waiting for ${what}; received ${JSON.stringify(received.map((r) => `${r.type}:${r.id}`))}`,
						),
					);
				}, timeoutMs);
				const check = () => {
					if (!predicate(received)) return;
					clearTimeout(timer);
					waiters.delete(check);
					resolve();
				};
				waiters.add(check);
				check();
			});
		},
		opened() {
			return new Promise((resolve) =>
				source.addEventListener('open', () => resolve(), { once: true }),
			);
		},
		close: () => source.close(),
	};
}

/** The events of `topics` in `received`, without control events. */
export function dataEvents(received: readonly Received[], ...topics: string[]): Received[] {
	return received.filter((r) =>
		topics.length ? topics.includes(r.type) : !r.type.startsWith('sse:'),
	);
}
