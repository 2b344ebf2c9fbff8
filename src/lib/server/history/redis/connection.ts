// The store's command connection to Redis (a client of its own, or the one it was given) and
// the runner of its scripts: every call waits for the connection and for the answer no longer
// than `timeoutMs`, and every failure is a `RedisHistoryError`.
import { createClient, ErrorReply } from 'redis';
import { SSEConfigError } from '../../errors.js';
import { newEpoch } from '../epoch.js';
import type { RedisClient } from './client.js';
import { settlesWithin, withinMs } from './deadline.js';
import { RedisHistoryError } from './errors.js';
import type { RedisStoreConfig } from './options.js';
import type { Script } from './scripts.js';

type OwnClient = ReturnType<typeof createClient>;

/** The URL without credentials, for error messages. */
function describeUrl(url: string): string {
	try {
		const parsed = new URL(url);
		parsed.username = '';
		parsed.password = '';
		return parsed.toString().replace(/\/$/, '');
	} catch {
		return 'the configured URL';
	}
}

export class RedisConnection {
	readonly client: RedisClient;
	/** The client the store made, connects and closes; `undefined` when it was given one. */
	readonly #own: OwnClient | undefined;
	/** Where Redis is, as error messages name it. */
	readonly #target: string;
	#lastError: unknown;
	#connecting: Promise<unknown> | undefined;
	#waiting: Promise<void> | undefined;
	#closed = false;

	readonly #onError = (error?: unknown) => {
		this.#lastError = error;
	};
	readonly #onReady = () => {
		this.#lastError = undefined;
	};

	constructor(readonly config: RedisStoreConfig) {
		this.#own = config.client
			? undefined
			: createClient({
					url: config.url,
					// Fail fast while disconnected instead of queueing: a hub must answer 503, not hang.
					disableOfflineQueue: true,
					socket: {
						connectTimeout: config.timeoutMs,
						reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
					},
				});
		this.client = config.client ?? (this.#own as RedisClient);
		this.#target = this.#own ? describeUrl(config.url) : 'the given client';
		this.client.on('error', this.#onError);
		this.client.on('ready', this.#onReady);
	}

	/** Whether the store was closed: from then on no connection is anybody's doubt. */
	get closed(): boolean {
		return this.#closed;
	}

	unreachable(cause: unknown): RedisHistoryError {
		return new RedisHistoryError(
			'redis_unreachable',
			`Redis is unreachable at ${this.#target}: ${cause instanceof Error ? cause.message || cause.name : String(cause)}. Check that it runs and that this process can reach it.`,
			{ cause },
		);
	}

	/** Resolves once connected; rejects at once while Redis is known down, else after timeoutMs. */
	async ready(): Promise<void> {
		if (this.#closed)
			throw new RedisHistoryError('store_closed', 'This Redis history store is closed.');
		if (this.client.isReady) return;
		if (this.#own && !this.#connecting) {
			this.#connecting = this.#own.connect();
			this.#connecting.catch(() => {}); // it only rejects when closed; errors arrive as events
		} else if (!this.client.isOpen) {
			throw this.unreachable(new Error('the client is not connected; call client.connect() first'));
		} else if (this.#lastError !== undefined) {
			throw this.unreachable(this.#lastError);
		}
		this.#waiting ??= this.#untilReady();
		await this.#waiting;
	}

	/** One wait for every call that arrives while connecting, not one pair of listeners each. */
	#untilReady(): Promise<void> {
		const { client } = this;
		const { timeoutMs } = this.config;
		return new Promise<void>((resolve, reject) => {
			const done = (error?: unknown) => {
				clearTimeout(timer);
				client.off('ready', done);
				client.off('error', fail);
				this.#waiting = undefined;
				if (error === undefined) resolve();
				else reject(this.unreachable(error));
			};
			const fail = (error?: unknown) => done(error ?? new Error('connection failed'));
			const timer = setTimeout(() => {
				// Known down from now on (until 'ready'): later calls need not wait again.
				this.#lastError = new Error(`no connection within ${timeoutMs} ms`);
				fail(this.#lastError);
			}, timeoutMs);
			client.on('ready', done);
			client.on('error', fail);
		});
	}

	/** Runs a script (by SHA, loading it on first use) with the common arguments first. */
	async run(script: Script, args: string[], time = this.config.now()): Promise<unknown> {
		if (!Number.isFinite(time)) throw new SSEConfigError(`redisHistory: now() returned ${time}.`);
		await this.ready();
		const { prefix, maxLength, maxAgeMs, sessionTtlMs, timeoutMs } = this.config;
		const argv = [
			prefix,
			String(time),
			String(maxLength),
			String(maxAgeMs),
			String(sessionTtlMs),
			newEpoch(),
			...args,
		];
		const call = async () => {
			try {
				return await this.client.evalSha(script.sha, { arguments: argv });
			} catch (error) {
				if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
				return this.client.eval(script.source, { arguments: argv });
			}
		};
		const pending = call();
		try {
			// The script may still run later, but whole or not at all: nothing is half-written.
			return await withinMs(pending, timeoutMs, `no answer within ${timeoutMs} ms`);
		} catch (error) {
			pending.catch(() => {}); // a late failure after the timeout has nobody to tell
			// An error reply is Redis speaking; anything else is the connection failing.
			if (error instanceof ErrorReply) {
				throw new RedisHistoryError('redis_error', `Redis refused the call: ${error.message}`, {
					cause: error,
				});
			}
			throw this.unreachable(error);
		}
	}

	/** Every call from now on rejects with `store_closed`. */
	refuseCalls(): void {
		this.#closed = true;
	}

	/** Closes the client the store made (a given one stays open, without the store's listeners). */
	async closeClient(): Promise<void> {
		const own = this.#own;
		if (!own) {
			this.client.off('error', this.#onError);
			this.client.off('ready', this.#onReady);
			return;
		}
		// Our listeners stay: a client emits 'error' with no listener as a crash.
		// An owned client that never connected or is reconnecting has nothing to flush.
		// A close that waits on replies that never come (the connection died meanwhile) is
		// cut short: shutting down must not hang.
		if (own.isReady) {
			if (!(await settlesWithin(own.close(), this.config.timeoutMs))) own.destroy();
		} else if (own.isOpen) own.destroy();
		await this.#connecting?.catch(() => {});
	}
}
