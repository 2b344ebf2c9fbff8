// Ends SSE streams when the process is asked to stop, and lets go of what they used once the
// server has closed.
//
// An SSE stream never ends by itself, so a server that drains open connections before it exits
// (adapter-node waits up to SHUTDOWN_TIMEOUT, 30 s) would wait for every client. Closing the
// streams on SIGTERM/SIGINT lets it exit at once; clients reconnect with their Last-Event-ID.
// Then adapter-node, its server closed, emits `sveltekit:shutdown` on `process` and leaves the
// process to end when nothing holds it open: a hub closes there, with its history store, whose
// Redis connections would otherwise keep it running.
//
// Listening to a signal replaces Node's default of exiting, so when nothing else listens
// (a plain `node` script) the signal is raised again after the streams are closed, and the
// process ends as it would have. Where others listen (adapter-node, Vite, test runners), they
// keep deciding how and whether the process exits.

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type Signal = (typeof SIGNALS)[number];
/** What adapter-node emits on `process` once its server has closed, for apps to free resources. */
const SERVER_CLOSED = 'sveltekit:shutdown';

// Kept on globalThis so modules reloaded by Vite's HMR share one set of listeners.
const KEY = Symbol.for('svelte-sse-kit.shutdown');
interface Registry {
	closers: Set<() => void>;
	listener: ((signal: Signal) => void) | null;
	/** Called on `sveltekit:shutdown`. */
	releasers: Set<() => void>;
	releaseListener: (() => void) | null;
}
const globals = globalThis as typeof globalThis & { [KEY]?: Partial<Registry> };
globals[KEY] ??= {};
// Filled field by field: a registry made by an older copy of this module may lack some.
const registry = globals[KEY] as Registry;
registry.closers ??= new Set();
registry.listener ??= null;
registry.releasers ??= new Set();
registry.releaseListener ??= null;

function hasProcessSignals(): boolean {
	return typeof process !== 'undefined' && typeof process.on === 'function';
}

function onSignal(signal: Signal): void {
	for (const close of [...registry.closers]) close();
	if (process.listenerCount(signal) === 1) {
		stopListening();
		process.kill(process.pid, signal);
	}
}

function onServerClosed(): void {
	for (const release of [...registry.releasers]) release();
}

function stopListening(): void {
	if (!registry.listener) return;
	for (const signal of SIGNALS) process.off(signal, registry.listener);
	registry.listener = null;
}

function stopListeningForServer(): void {
	if (!registry.releaseListener) return;
	process.off(SERVER_CLOSED, registry.releaseListener);
	registry.releaseListener = null;
}

/**
 * Calls `close` on SIGTERM or SIGINT, and `release` (if given) once adapter-node's server has
 * closed (`sveltekit:shutdown`), until the returned function is called.
 */
export function closeOnShutdown(close: () => void, release?: () => void): () => void {
	if (!hasProcessSignals()) return () => {};
	registry.closers.add(close);
	if (!registry.listener) {
		registry.listener = onSignal;
		for (const signal of SIGNALS) process.on(signal, onSignal);
	}
	if (release) {
		registry.releasers.add(release);
		if (!registry.releaseListener) {
			registry.releaseListener = onServerClosed;
			process.on(SERVER_CLOSED, onServerClosed);
		}
	}
	return () => {
		registry.closers.delete(close);
		if (registry.closers.size === 0) stopListening();
		if (!release) return;
		registry.releasers.delete(release);
		if (registry.releasers.size === 0) stopListeningForServer();
	};
}
