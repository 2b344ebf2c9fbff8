// `node:async_hooks`, loaded as SvelteKit loads it: a dynamic import with a catch, so that a
// runtime without it (an in-browser container) still runs the hub, without what needs it.
import type * as AsyncHooks from 'node:async_hooks';

/** Settles once the import has: the module, or `null` where the runtime has none. */
export const asyncHooks: Promise<typeof AsyncHooks | null> = import('node:async_hooks').then(
	(hooks) => hooks,
	() => null,
);

/** `undefined` while the import is under way, `null` if it failed. */
let loaded: typeof AsyncHooks | null | undefined;
void asyncHooks.then((hooks) => {
	loaded = hooks;
});

/** The module if it has loaded by now (it has before any request comes in, in practice). */
export function loadedAsyncHooks(): typeof AsyncHooks | null | undefined {
	return loaded;
}
