// SvelteKit's server hooks: the demo's, from src/demo/server.
export { handle, init } from '$demo/server/hooks.server.js';
