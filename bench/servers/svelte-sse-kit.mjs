/**
 * svelte-sse-kit in process (bench/impls/svelte-sse-kit.mjs), from the packaged library
 * (`svelte-package` output: the runner builds it from src/lib first).
 */
import { pathToFileURL } from 'node:url';
import { svelteSseKit } from '../impls/svelte-sse-kit.mjs';
import { startBenchServer } from './common.mjs';
import { kitHandler } from './kit-node.mjs';

const pkg = process.env.BENCH_PKG;
if (!pkg) throw new Error('BENCH_PKG must name the packaged library (the runner sets it).');
const impl = svelteSseKit(await import(pathToFileURL(`${pkg}/server/index.js`).href));

await startBenchServer('svelte-sse-kit', { ...impl, handle: kitHandler(impl.GET) });
