// A Web Locks `LockManager` for tests, in one realm: exclusive locks by name, granted in request
// order, released when the callback's promise settles; a pending request withdrawn by its signal
// rejects with an AbortError. Installed on `navigator.locks`, it lets clients of one jsdom play
// the tabs of one browser.

type Grant = () => void;

interface Pending {
	grant: Grant;
	reject(error: unknown): void;
}

export class FakeLockManager {
	readonly #held = new Set<string>();
	readonly #queues = new Map<string, Pending[]>();

	/** Names held now. */
	get held(): ReadonlySet<string> {
		return this.#held;
	}

	request<T>(
		name: string,
		options: { signal?: AbortSignal },
		callback: (lock: { name: string; mode: 'exclusive' }) => T | Promise<T>,
	): Promise<T> {
		return new Promise<T>((resolve, reject) => {
			const { signal } = options;
			if (signal?.aborted) {
				reject(new DOMException('The request was aborted.', 'AbortError'));
				return;
			}
			const pending: Pending = {
				grant: () => {
					signal?.removeEventListener('abort', onAbort);
					this.#held.add(name);
					Promise.resolve()
						.then(() => callback({ name, mode: 'exclusive' }))
						.then(resolve, reject)
						.finally(() => this.#release(name));
				},
				reject,
			};
			const onAbort = () => {
				const queue = this.#queues.get(name) ?? [];
				const index = queue.indexOf(pending);
				if (index === -1) return; // granted already: aborting does nothing then
				queue.splice(index, 1);
				reject(new DOMException('The request was aborted.', 'AbortError'));
			};
			signal?.addEventListener('abort', onAbort);
			const queue = this.#queues.get(name) ?? [];
			this.#queues.set(name, queue);
			queue.push(pending);
			if (!this.#held.has(name) && queue.length === 1) queueMicrotask(() => this.#next(name));
		});
	}

	#release(name: string): void {
		this.#held.delete(name);
		this.#next(name);
	}

	#next(name: string): void {
		if (this.#held.has(name)) return;
		const next = this.#queues.get(name)?.shift();
		next?.grant();
	}
}

/** Puts a fake on `navigator.locks` (as a secure context has); returns what removes it. */
export function installFakeLocks(): { locks: FakeLockManager; uninstall(): void } {
	const locks = new FakeLockManager();
	Object.defineProperty(navigator, 'locks', { value: locks, configurable: true });
	return {
		locks,
		uninstall: () => {
			Reflect.deleteProperty(navigator, 'locks');
		},
	};
}
