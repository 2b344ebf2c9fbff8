import { sveltekit } from '@sveltejs/kit/vite';
import { svelteTesting } from '@testing-library/svelte/vite';
import { defineConfig } from 'vitest/config';

export default defineConfig({
	plugins: [sveltekit()],
	test: {
		// Suites start real HTTP servers and child processes; give them room on a shared 2-core box.
		testTimeout: 30_000,
		hookTimeout: 60_000,
		projects: [
			{
				extends: true,
				test: {
					name: 'server',
					environment: 'node',
					include: ['src/lib/server/**/*.test.ts', 'tests/**/*.test.ts'],
					exclude: ['tests/client/**'],
				},
			},
			{
				// The client as a browser runs it: Svelte's browser build, a DOM, auto-cleanup.
				extends: true,
				plugins: [svelteTesting()],
				resolve: { conditions: ['browser'] },
				test: {
					name: 'client',
					environment: 'jsdom',
					include: ['src/lib/client/**/*.test.ts', 'tests/client/**/*.test.ts'],
				},
			},
		],
	},
});
