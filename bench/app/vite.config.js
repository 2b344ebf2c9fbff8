import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

// Built only by the runner (bench/build.mjs), into a temporary directory per implementation.
if (!process.env.BENCH_APP_OUT) {
	throw new Error('BENCH_APP_OUT must name the build directory (the runner sets it).');
}

export default defineConfig({ plugins: [sveltekit()], logLevel: 'error' });
