/**
 * raw: `node:http` writing one pre-encoded frame to every open response (the frames of one
 * publish call concatenated, so a burst is one write per connection). No Web Streams, no
 * per-connection encoding, no timers: the most Node itself can push, the baseline every other
 * figure is divided by.
 *
 * It keeps the last frames with numeric ids so that the reconnect storm has a platform baseline
 * too: a resume is one write of the frames after the client's Last-Event-ID.
 */
import { envInt, payload, startBenchServer } from './common.mjs';

const HEAD = {
	'content-type': 'text/event-stream; charset=utf-8',
	'cache-control': 'no-cache, no-transform',
	'x-accel-buffering': 'no',
};
const RETAINED = envInt('BENCH_HISTORY', 1000);

const clients = new Set();
/** The newest RETAINED frames (`frames[i]` has id `seq - frames.length + 1 + i`). */
let frames = [];
let seq = 0;

await startBenchServer('raw', {
	handle(req, res) {
		res.writeHead(200, HEAD);
		res.write('retry: 3000\n\n');
		const last = Number(req.headers['last-event-id']);
		if (Number.isInteger(last) && last < seq) {
			const first = seq - frames.length + 1;
			res.write(Buffer.concat(frames.slice(Math.max(0, last + 1 - first))));
		}
		clients.add(res);
		res.once('close', () => clients.delete(res));
	},
	publish(count, size) {
		const first = seq + 1;
		for (let i = 0; i < count; i++) {
			seq++;
			frames.push(
				Buffer.from(`id: ${seq}\nevent: tick\ndata: ${JSON.stringify(payload(size))}\n\n`),
			);
		}
		// What one publish call sends goes out as one write per connection, encoded once.
		const chunk = count === 1 ? frames.at(-1) : Buffer.concat(frames.slice(-count));
		for (const res of clients) res.write(chunk);
		// Trimmed per publish rather than per frame: a big burst costs one slice, not `count` shifts.
		if (frames.length > RETAINED) frames = frames.slice(-RETAINED);
		return { first: String(first), last: String(seq) };
	},
	connections: () => clients.size,
});
