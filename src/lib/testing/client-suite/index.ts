// The behaviour of `SSEClient` that any EventSource must show, as one suite registered once per
// EventSource: the scripted fake (src/lib/client/client-suite.fake.test.ts) and the real
// `eventsource` package over real HTTP (tests/client/client-suite.eventsource.test.ts). The
// server side is scripted in both (scripted-server.ts), so each test says exactly what the stream
// carries, and what passes on both is what the fake may be trusted to model.
//
// Test-only: it is not exported from the library.
import { describe } from 'vitest';
import { connectionTests } from './connection.js';
import { deliveryTests } from './delivery.js';
import { clientSuiteHarness } from './harness.js';
import { resumeTests } from './resume.js';
import type { ScriptedServer } from './scripted-server.js';

export type { ScriptedServer, ServerStream, StreamRequest } from './scripted-server.js';

export interface ClientSuiteOptions {
	/** What the EventSource is, for the suite's name. */
	name: string;
	/** A fresh server side for each test. */
	serve(): Promise<ScriptedServer> | ScriptedServer;
}

export function describeSSEClient(options: ClientSuiteOptions): void {
	describe(`SSEClient on ${options.name}`, () => {
		const suite = clientSuiteHarness(() => options.serve());
		connectionTests(suite);
		deliveryTests(suite);
		resumeTests(suite);
	});
}
