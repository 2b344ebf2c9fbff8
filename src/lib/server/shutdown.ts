/**
 * Ends SSE streams when the process is asked to stop.
 *
 * An SSE stream never ends by itself, so a server that drains open connections before it exits
 * (adapter-node waits up to SHUTDOWN_TIMEOUT, 30 s) would wait for every client. Closing the
 * streams on SIGTERM/SIGINT lets it exit at once; clients reconnect with their Last-Event-ID.
 *
 * Listening to a signal replaces Node's default of exiting, so when nothing else listens
 * (a plain `node` script) the signal is raised again after the streams are closed, and the
 * process ends as it would have. Where others listen (adapter-node, Vite, test runners), they
 * keep deciding how and whether the process exits.
 */

const SIGNALS = ['SIGTERM', 'SIGINT'] as const;
type Signal = (typeof SIGNALS)[number];

// Kept on globalThis so modules reloaded by Vite's HMR share one set of listeners.
const KEY = Symbol.for('svelte-sse-kit.shutdown');
interface Registry {
	closers: Set<() => void>;
	listener: ((signal: Signal) => void) | null;
}
const globals = globalThis as typeof globalThis & { [KEY]?: Registry };
globals[KEY] ??= { closers: new Set(), listener: null };
const registry: Registry = globals[KEY];

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

function stopListening(): void {
	if (!registry.listener) return;
	for (const signal of SIGNALS) process.off(signal, registry.listener);
	registry.listener = null;
}

/** Calls `close` on SIGTERM or SIGINT until the returned function is called. */
export function closeOnShutdown(close: () => void): () => void {
	if (!hasProcessSignals()) return () => {};
	registry.closers.add(close);
	if (!registry.listener) {
		registry.listener = onSignal;
		for (const signal of SIGNALS) process.on(signal, onSignal);
	}
	return () => {
		registry.closers.delete(close);
		if (registry.closers.size === 0) stopListening();
	};
}
