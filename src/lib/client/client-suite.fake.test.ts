// The client suite (src/lib/testing/client-suite.ts) on the scripted `FakeEventSource`; the same
// suite runs on the real `eventsource` package in tests/client/client-suite.eventsource.test.ts.
import { describeSSEClient } from '../testing/client-suite.js';
import { fakeServer } from '../testing/fake-server.js';

describeSSEClient({ name: 'the scripted FakeEventSource', serve: () => fakeServer() });
