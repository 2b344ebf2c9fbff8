// Waiting on callbacks a test does not await (an SSEClient's handlers): `until` resolves once its
// predicate holds, checked again on every `notify()`, and rejects after 10 s.
export function waiter() {
	const checks = new Set<() => void>();
	return {
		/** Checks every pending `until` again: call it from the handlers the predicates read. */
		notify: () => {
			for (const check of [...checks]) check();
		},
		until: (what: string, predicate: () => boolean) =>
			new Promise<void>((resolve, reject) => {
				const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
				const check = () => {
					if (!predicate()) return;
					clearTimeout(timer);
					checks.delete(check);
					resolve();
				};
				checks.add(check);
				check();
			}),
	};
}
