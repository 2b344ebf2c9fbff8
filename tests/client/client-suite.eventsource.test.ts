// The client suite (src/lib/testing/client-suite/) on the real `eventsource` package (a
// WHATWG-conformant EventSource; jsdom has none) over real HTTP; the same suite runs on the
// scripted fake in src/lib/client/client-suite.fake.test.ts.
import { describeSSEClient } from '../../src/lib/testing/client-suite/index.js';
import { scriptedHTTPServer } from '../helpers/scripted-http-server.js';

describeSSEClient({ name: 'the eventsource package over HTTP', serve: scriptedHTTPServer });
