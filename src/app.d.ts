// See https://svelte.dev/docs/kit/types#app.d.ts
declare global {
	namespace App {
		interface Locals {
			/** The visitor's session, set by `hub.handle` in `src/hooks.server.ts`. */
			sseSession?: string;
		}
	}
}

export {};
