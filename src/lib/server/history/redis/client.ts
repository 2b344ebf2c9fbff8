// What the Redis store needs of a node-redis (v5 or v6) client and of the subscriber connection
// it duplicates from it: the two types a user who brings a client of their own meets.

/** The subscriber connection the live feed makes with `client.duplicate()`. */
export interface RedisSubscriber {
	readonly isReady: boolean;
	connect(): Promise<unknown>;
	subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
	unsubscribe(channel: string): Promise<unknown>;
	close(): Promise<unknown>;
	destroy(): void;
	on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
}

/** What the store needs of a node-redis (v5 or v6) client, e.g. one from `createClient()`. */
export interface RedisClient {
	readonly isOpen: boolean;
	readonly isReady: boolean;
	eval(script: string, options: { arguments: string[] }): Promise<unknown>;
	evalSha(sha1: string, options: { arguments: string[] }): Promise<unknown>;
	duplicate(): RedisSubscriber;
	on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
	off(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
}

/** A value of a Redis reply as text. */
export const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));
