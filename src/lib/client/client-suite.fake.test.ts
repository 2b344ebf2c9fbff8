// The client suite (src/lib/testing/client-suite/) on the scripted `FakeEventSource`; the same
// suite runs on the real `eventsource` package in tests/client/client-suite.eventsource.test.ts.

import { fakeServer } from '../testing/client-suite/fake-server.js';
import { describeSSEClient } from '../testing/client-suite/index.js';

describeSSEClient({ name: 'the scripted FakeEventSource', serve: () => fakeServer() });
