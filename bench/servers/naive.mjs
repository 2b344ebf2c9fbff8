/**
 * naive: the `+server.ts` most SvelteKit users write first — a `ReadableStream` per connection,
 * and a publish loop that stringifies and encodes every event again for every connection.
 */
import { payload, startBenchServer } from './common.mjs';
import { kitHandler } from './kit-node.mjs';

const encoder = new TextEncoder();
const controllers = new Set();

const handle = kitHandler(() => {
	let controller;
	const stream = new ReadableStream({
		start(c) {
			controller = c;
			controllers.add(c);
		},
		cancel() {
			controllers.delete(controller);
		},
	});
	return new Response(stream, {
		headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' },
	});
});

await startBenchServer('naive', {
	handle,
	publish(count, size) {
		for (let i = 0; i < count; i++) {
			const data = payload(size);
			for (const controller of controllers) {
				controller.enqueue(encoder.encode(`event: tick\ndata: ${JSON.stringify(data)}\n\n`));
			}
		}
	},
	connections: () => controllers.size,
});
