// Waiting on Redis for no longer than `timeoutMs`: a call that hangs must reject (so a hub
// answers 503 promptly), and closing must not hang either.

/** `promise`, or a rejection with `Error(message)` once `ms` have passed without it settling. */
export async function withinMs<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			promise,
			new Promise<never>((_, reject) => {
				timer = setTimeout(reject, ms, new Error(message));
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}

/** Whether `promise` resolved within `ms`: closing waits no longer than a call would. */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
	let timer: ReturnType<typeof setTimeout> | undefined;
	try {
		return await Promise.race([
			promise.then(
				() => true,
				() => false,
			),
			new Promise<boolean>((resolve) => {
				timer = setTimeout(resolve, ms, false);
			}),
		]);
	} finally {
		clearTimeout(timer);
	}
}
