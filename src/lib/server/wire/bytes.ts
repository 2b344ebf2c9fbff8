// Byte chunks joined into one.

/** `parts` copied, in order, into one array of `size` bytes (their total length). */
export function concatBytes(parts: readonly Uint8Array[], size: number): Uint8Array {
	const joined = new Uint8Array(size);
	let offset = 0;
	for (const part of parts) {
		joined.set(part, offset);
		offset += part.length;
	}
	return joined;
}
