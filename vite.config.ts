import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	test: {
		include: ['src/**/*.test.ts', 'tests/**/*.test.ts'],
		environment: 'node',
		// Suites start real HTTP servers and child processes; give them room on a shared 2-core box.
		testTimeout: 30_000,
		hookTimeout: 60_000,
	},
});
