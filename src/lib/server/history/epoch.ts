// Epoch names: what makes the ids of one store lifetime differ from every other's.

/**
 * A name for a new store lifetime that will not repeat across restarts or processes: base-36
 * time plus 32 random bits, in the characters the wire grammar allows in an epoch.
 */
export function newEpoch(): string {
	const random = crypto.getRandomValues(new Uint32Array(1))[0] as number;
	return `${Date.now().toString(36)}${random.toString(36)}`;
}
