/**
 * sveltekit-sse: its `produce()` as a `+server.ts` handler, served like adapter-node serves it.
 * It has no broadcast of its own, so each stream's `emit` joins a set that `publish` loops over
 * (the pattern its README implies); the JSON is made once per event, since `emit` takes a string.
 * No history: it sits out the reconnect storm.
 */
import { register } from 'node:module';
import { payload, startBenchServer } from './common.mjs';
import { kitHandler } from './kit-node.mjs';

// Its package is written for Vite: extensionless relative imports and only a `svelte` export
// condition. The hook lets plain Node load it, as Vite's SSR bundling would.
register('./vite-like-resolve.mjs', import.meta.url);
const { produce } = await import('sveltekit-sse');

const emits = new Set();

const handle = kitHandler(() =>
	produce(({ emit }) => {
		emits.add(emit);
		return () => emits.delete(emit);
	}),
);

await startBenchServer('sveltekit-sse', {
	handle,
	publish(count, size) {
		for (let i = 0; i < count; i++) {
			const json = JSON.stringify(payload(size));
			for (const emit of emits) {
				if (emit('tick', json).error) emits.delete(emit);
			}
		}
	},
	connections: () => emits.size,
});
