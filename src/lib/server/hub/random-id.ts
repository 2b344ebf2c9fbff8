// Session and connection ids.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const LENGTH = 22; // 22 characters of 6 random bits: 132 bits, more than a UUID's 122
const decoder = new TextDecoder();

/**
 * Random bytes drawn 256 ids at a time: a `getRandomValues` call per id showed up in the
 * profile of a reconnect storm, which opens thousands of streams at once.
 */
const pool = new Uint8Array(LENGTH * 256);
let used = pool.length;

/**
 * A random, URL- and cookie-safe id in one flat string. `crypto.randomUUID()` builds its
 * result out of 36 small pieces in Node, and an id held for as long as a connection is open
 * kept all of them.
 */
export function randomId(): string {
	if (used + LENGTH > pool.length) {
		crypto.getRandomValues(pool);
		used = 0;
	}
	const id = new Uint8Array(LENGTH);
	for (let i = 0; i < LENGTH; i++) {
		id[i] = ALPHABET.charCodeAt((pool[used + i] as number) & 63);
	}
	used += LENGTH;
	return decoder.decode(id);
}
