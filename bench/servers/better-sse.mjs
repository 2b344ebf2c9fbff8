/**
 * better-sse: a session per request on `node:http`, all registered with one channel, events
 * sent with `channel.broadcast`, as its README shows. Default session options (keep-alive every
 * 10 s, JSON serializer). It has no history, so it sits out the reconnect storm.
 */
import { createChannel, createSession } from 'better-sse';
import { payload, startBenchServer } from './common.mjs';

const channel = createChannel();

await startBenchServer('better-sse', {
	async handle(req, res) {
		const session = await createSession(req, res);
		channel.register(session); // deregistered by the channel itself when the session disconnects
	},
	publish(count, size) {
		for (let i = 0; i < count; i++) channel.broadcast(payload(size), 'tick');
	},
	connections: () => channel.sessionCount,
});
