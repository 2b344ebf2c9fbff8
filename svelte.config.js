import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
	preprocess: vitePreprocess(),
	kit: {
		adapter: adapter(),
		// The demo imports the library by its package name, exactly as an app that installed it would.
		// (Longer names first: Vite matches an alias as a prefix.)
		alias: {
			'svelte-sse-kit/server/redis': 'src/lib/server/history/redis/index.ts',
			'svelte-sse-kit/server': 'src/lib/server/index.ts',
			'svelte-sse-kit': 'src/lib/index.ts',
			// The demo's own code, kept apart from the library so it is never packaged.
			$demo: 'src/demo',
		},
		typescript: {
			// Each fixture app is checked as its own app (its own `$types`, `App`): see `npm run check`.
			config: (tsconfig) => {
				tsconfig.exclude.push('../tests/fixtures/**');
			},
		},
	},
};

export default config;
