/**
 * sveltekit-sse in process (bench/impls/sveltekit-sse.mjs), served like adapter-node serves it.
 */
import { register } from 'node:module';
import { sveltekitSse } from '../impls/sveltekit-sse.mjs';
import { startBenchServer } from './common.mjs';
import { kitHandler } from './kit-node.mjs';

// Its package is written for Vite: extensionless relative imports and only a `svelte` export
// condition. The hook lets plain Node load it, as Vite's SSR bundling would.
register('./vite-like-resolve.mjs', import.meta.url);
const impl = sveltekitSse(await import('sveltekit-sse'));

await startBenchServer('sveltekit-sse', { ...impl, handle: kitHandler(impl.GET) });
