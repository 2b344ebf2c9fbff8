// A scripted server (scripted-server.ts) for the client suite, on `FakeEventSource`: each
// instance the client makes, and each reconnect an instance makes by itself, is one connection
// attempt; the test answers it as a server would, and what it writes reaches the client at once.
//
// Test-only: it is not exported from the library.
import { FakeEventSource } from '../fake-event-source.js';
import type { ScriptedServer, ServerStream, StreamRequest } from './scripted-server.js';

/** A scripted server for `FakeEventSource`; it forgets every instance made before. */
export function fakeServer(url = '/api/events'): ScriptedServer {
	FakeEventSource.reset();
	/** Instances whose first connection attempt was handed out. */
	let handedOut = 0;
	/** Instances that reconnect by themselves, in the order their streams ended. */
	const reconnecting: FakeEventSource[] = [];
	let reconnects = 0;
	/** Accepted streams not ended yet, with their instance. */
	const open = new Map<ServerStream, FakeEventSource>();

	/** A connection attempt of `source`: its first, or one it makes by itself (`reconnect`). */
	function attempt(source: FakeEventSource, reconnect: boolean): StreamRequest {
		// A browser sends Last-Event-ID on its own reconnects only; a new instance has the URL's.
		const header = reconnect && source.lastEventId !== '' ? source.lastEventId : null;
		let answered = false;
		let ended = false;
		const request: StreamRequest = {
			url: source.url,
			topics: source.topics,
			lastEventId: header ?? source.param('lastEventId'),
			param: (name) => source.param(name),
			get closed() {
				return ended || source.closed;
			},
			accept() {
				if (answered) throw new Error('fake server: this attempt was answered already');
				answered = true;
				source.open();
				const stream: ServerStream = {
					request,
					emit: (type, data, id) => source.emitJSON(type, data, id),
					emitText: (type, text, id) => source.emit(type, text, id),
					end() {
						ended = true;
						open.delete(stream);
						reconnects++;
						reconnecting.push(source);
						source.error(); // the browser reconnects by itself
					},
					get closed() {
						return request.closed;
					},
				};
				open.set(stream, source);
				return stream;
			},
			refuse(status) {
				if (answered) throw new Error('fake server: this attempt was answered already');
				answered = true;
				// As the `eventsource` package reports it: the status as `code`, the connection failed.
				source.error({ close: true, code: status });
			},
		};
		return request;
	}

	function nextAttempt(): StreamRequest | undefined {
		// An instance the client closed while it was reconnecting makes no attempt.
		for (let source = reconnecting.shift(); source; source = reconnecting.shift()) {
			if (!source.closed) return attempt(source, true);
		}
		const source = FakeEventSource.instances[handedOut];
		if (!source) return undefined;
		handedOut++;
		return attempt(source, false);
	}

	return {
		url,
		EventSource: FakeEventSource,
		get requestCount() {
			return FakeEventSource.instances.length + reconnects;
		},
		async nextRequest() {
			const deadline = Date.now() + 5000;
			for (;;) {
				const next = nextAttempt();
				if (next) return next;
				if (Date.now() > deadline) throw new Error('fake server: no connection attempt came');
				await new Promise((resolve) => setTimeout(resolve, 2));
			}
		},
		async restart() {
			for (const [stream, source] of [...open]) {
				if (source.closed) continue;
				stream.end(); // the stream breaks: the browser reconnects by itself…
				if (!source.closed) source.error(); // …and finds the server away, once
			}
		},
		async close() {
			FakeEventSource.reset();
		},
	};
}
