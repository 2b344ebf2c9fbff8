// What the client suite (index.ts) needs of a server: connection attempts the test answers, and
// streams it writes frame by frame. Two implementations: fake-server.ts beside it (on
// FakeEventSource) and tests/helpers/scripted-http-server.ts (real HTTP, for `eventsource`).
//
// Test-only: it is not exported from the library.
import type { EventSourceConstructor } from '../../client/sse-client.svelte.js';

/** One connection attempt as the server sees it, not answered yet. */
export interface StreamRequest {
	/** The path and query the client asked for (`/events?topics=chat&client=…`). */
	readonly url: string;
	/** The `topics` query parameters, in order. */
	readonly topics: string[];
	/** The position to resume from: the `Last-Event-ID` header (sent by an EventSource on its own
	 * reconnects) or else the `lastEventId` query parameter (sent by the client), as the hub reads it. */
	readonly lastEventId: string | null;
	/** A query parameter, or null. */
	param(name: string): string | null;
	/** True once this connection is over: the client closed it, or the server ended it. */
	readonly closed: boolean;
	/** Answers 200 with `text/event-stream`: the stream is open. */
	accept(): ServerStream;
	/** Answers with an HTTP error: the EventSource fails the connection and stops retrying. */
	refuse(status: number): void;
}

/** An open stream, written by the test. */
export interface ServerStream {
	readonly request: StreamRequest;
	/** One event frame with `data` as JSON; with an `id:` field when `id` is given. */
	emit(type: string, data: unknown, id?: string): void;
	/** One event frame whose `data:` is `text` as it is (bad JSON, for instance). */
	emitText(type: string, text: string, id?: string): void;
	/** The server ends the stream: the EventSource reconnects by itself, with Last-Event-ID. */
	end(): void;
	/** True once the stream is over: the client closed it, or the server ended it. */
	readonly closed: boolean;
}

/** The server side of one test. */
export interface ScriptedServer {
	/** The endpoint to give the client. */
	readonly url: string;
	/** The EventSource the client is given. */
	readonly EventSource: EventSourceConstructor;
	/** Connection attempts that reached the server so far. */
	readonly requestCount: number;
	/** The next connection attempt, once it arrives (attempts are handed out in order, once each). */
	nextRequest(): Promise<StreamRequest>;
	/** Every open stream breaks and the server is away for a moment; resolves once it is back. */
	restart(): Promise<void>;
	close(): Promise<void>;
}
