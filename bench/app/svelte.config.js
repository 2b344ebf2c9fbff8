// The bench's built app (bench/README.md, "Built apps"): one SvelteKit app serving the bench's
// contract routes, built once per implementation. The runner sets, for `vite build`:
// BENCH_IMPL (which of src/impls/ `$impl` is), BENCH_PKG (the packaged svelte-sse-kit, which
// `svelte-sse-kit/server` resolves to, as a user's app resolves it from node_modules) and
// BENCH_APP_OUT (a temporary directory for `.svelte-kit` and the `build` that `node build` runs).
// vite.config.js refuses to build without it; this file is also read by tools that only look
// (svelte-check loads every svelte.config.js it finds), so it must load without it.
import path from 'node:path';
import adapter from '@sveltejs/adapter-node';

const {
	BENCH_IMPL: impl = 'svelte-sse-kit',
	BENCH_PKG: pkg,
	BENCH_APP_OUT: out = '.',
} = process.env;

/** @type {import('@sveltejs/kit').Config} */
export default {
	kit: {
		adapter: adapter({ out: path.join(out, 'build') }),
		outDir: path.join(out, '.svelte-kit'),
		alias: {
			$impl: `src/impls/${impl}.js`,
			...(pkg ? { 'svelte-sse-kit/server': path.join(pkg, 'server/index.js') } : {}),
		},
	},
};
