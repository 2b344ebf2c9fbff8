/**
 * sveltekit-sse: its `produce()` as the `+server` GET handler. It has no broadcast of its own, so
 * each stream's `emit` joins a set that `publish` loops over (the pattern its README implies);
 * the JSON is made once per event, since `emit` takes a string. Each stream opens with an `open`
 * event, so that its head is sent. No history: it sits out the reconnect storm. Given `produce`,
 * because plain Node and Vite load the package differently.
 */
import { payload } from '../servers/common.mjs';

export function sveltekitSse({ produce }) {
	const emits = new Set();
	return {
		GET: () =>
			produce(({ emit }) => {
				emits.add(emit);
				// Its head would otherwise wait for the first event (adapter-node flushes it with the
				// first chunk) and a browser's EventSource would stay "connecting" until then: an app
				// sends something at once so `open` fires, and the bench counts the same "connected"
				// (the head arrived) for every implementation.
				emit('open', '');
				return () => emits.delete(emit);
			}),
		publish(count, size) {
			for (let i = 0; i < count; i++) {
				const json = JSON.stringify(payload(size));
				for (const emit of emits) {
					if (emit('tick', json).error) emits.delete(emit);
				}
			}
		},
		connections: () => emits.size,
	};
}
