// The client suite (src/lib/testing/client-suite.ts) on the real `eventsource` package (a
// WHATWG-conformant EventSource; jsdom has none) over real HTTP; the same suite runs on the
// scripted fake in src/lib/client/client-suite.fake.test.ts.
import { describeSSEClient } from '../../src/lib/testing/client-suite.js';
import { scriptedServer } from '../helpers/scripted-server.js';

describeSSEClient({ name: 'the eventsource package over HTTP', serve: scriptedServer });
