/**
 * svelte-sse-kit: the hub as a user deploys it (`export const GET = hub.handler()`), from the
 * packaged library (`svelte-package` output, the runner builds it from src/lib first), with the
 * default in-memory history and cookie sessions.
 */
import { pathToFileURL } from 'node:url';
import { envInt, payload, startBenchServer } from './common.mjs';
import { kitHandler } from './kit-node.mjs';

const pkg = process.env.BENCH_PKG;
if (!pkg) throw new Error('BENCH_PKG must name the packaged library (the runner sets it).');
const { createSSEHub, memoryHistory } = await import(pathToFileURL(`${pkg}/server/index.js`).href);

const hub = createSSEHub({
	topics: ['tick'],
	history: memoryHistory({
		maxLength: envInt('BENCH_HISTORY', 1000), // the default, unless the replay phase asks for more
		// Every bench connection is its own session (own cookie); the default cap of 10,000 sessions
		// would start forgetting them at N = 10,000, so it is raised as a deployment of that size would.
		maxSessions: 100_000,
	}),
	onError: (error) => console.error('[svelte-sse-kit]', error),
});
const handle = kitHandler(hub.handler());
let open = 0;

await startBenchServer('svelte-sse-kit', {
	async handle(req, res) {
		open++;
		res.once('close', () => open--);
		await handle(req, res);
	},
	async publish(count, size) {
		// K publishes in one tick, as K independent callers would; the hub may coalesce them.
		const pending = [];
		for (let i = 0; i < count; i++) pending.push(hub.publish('tick', payload(size)));
		const ids = await Promise.all(pending);
		return { first: ids[0], last: ids.at(-1) };
	},
	connections: () => open,
});
