// A TCP proxy in front of Redis, for faults of one connection of a store rather than of Redis:
// a store's subscriber connection lost while its command connection stays, one back before the
// other, replies that come late. It tells a connection's role from what it sends: one that has
// sent SUBSCRIBE is a subscriber connection (node-redis resubscribes in the same write as its
// handshake when it reconnects), any other a command connection.
//
// ```ts
// const proxy = await startRedisProxy(REDIS_URL);
// const store = redisHistory({ url: proxy.url });
// proxy.hold('command'); // new command connections get nowhere until released
// proxy.cut(); // every open connection drops, as on a network failure
// ```
import net from 'node:net';

export type Role = 'subscriber' | 'command';

export interface RedisProxy {
	/** `redis://127.0.0.1:<port>`, for the store under test. */
	url: string;
	/** Drops the open connections of `role` (all of them without it), both ends. */
	cut(role?: Role): void;
	/** What new connections of `role` send waits here, unforwarded, until `release(role)`. */
	hold(role: Role): void;
	release(role: Role): void;
	/**
	 * Once a command connection sends `marker` (a script's SHA, say), Redis's replies to it wait
	 * here until `thaw()`: the command runs at once, its caller hears of it late. Resolves then.
	 */
	freezeRepliesAfter(marker: string): Promise<void>;
	thaw(): void;
	close(): Promise<void>;
}

interface Link {
	down: net.Socket;
	up: net.Socket;
	role: Role;
	/** What the client sent while its role was held. */
	held: Buffer[];
	/** Replies waiting for `thaw()`; `null` when not frozen. */
	frozen: Buffer[] | null;
}

export async function startRedisProxy(target: string): Promise<RedisProxy> {
	const { hostname, port } = new URL(target);
	const links = new Set<Link>();
	const holding = new Set<Role>();
	let freeze: { marker: string; frozen: () => void } | undefined;
	const frozenLinks = new Set<Link>();

	const flushHeld = (link: Link) => {
		if (holding.has(link.role)) return;
		for (const chunk of link.held.splice(0)) link.up.write(chunk);
	};

	const server = net.createServer((down) => {
		const up = net.connect(Number(port || 6379), hostname);
		const link: Link = { down, up, role: 'command', held: [], frozen: null };
		links.add(link);
		const drop = () => {
			links.delete(link);
			frozenLinks.delete(link);
			down.destroy();
			up.destroy();
		};
		down.on('error', drop).on('close', drop);
		up.on('error', drop).on('close', drop);
		down.on('data', (chunk: Buffer) => {
			const text = chunk.toString('latin1');
			if (/subscribe/i.test(text)) link.role = 'subscriber';
			if (freeze && link.role === 'command' && text.includes(freeze.marker)) {
				link.frozen = [];
				frozenLinks.add(link);
				freeze.frozen();
				freeze = undefined;
			}
			link.held.push(chunk);
			flushHeld(link);
		});
		up.on('data', (chunk: Buffer) => {
			if (link.frozen) link.frozen.push(chunk);
			else down.write(chunk);
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address() as net.AddressInfo;

	return {
		url: `redis://127.0.0.1:${address.port}`,
		cut(role) {
			for (const link of [...links]) {
				if (role && link.role !== role) continue;
				links.delete(link);
				frozenLinks.delete(link);
				link.down.destroy();
				link.up.destroy();
			}
		},
		hold(role) {
			holding.add(role);
		},
		release(role) {
			holding.delete(role);
			for (const link of links) flushHeld(link);
		},
		freezeRepliesAfter(marker) {
			return new Promise((resolve) => {
				freeze = { marker, frozen: resolve };
			});
		},
		thaw() {
			for (const link of frozenLinks) {
				const replies = link.frozen ?? [];
				link.frozen = null;
				for (const chunk of replies) link.down.write(chunk);
			}
			frozenLinks.clear();
		},
		close() {
			for (const link of links) {
				link.down.destroy();
				link.up.destroy();
			}
			links.clear();
			return new Promise((resolve) => server.close(() => resolve()));
		},
	};
}
