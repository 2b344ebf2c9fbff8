/**
 * What every benchmark server shares: the control plane (`POST /publish`, `GET /stats`), the
 * payload, and the rules that make a server process end by itself. Only `GET /sse` differs
 * between implementations, so the figures compare what the implementations do, not how the
 * harness talks to them.
 */
import http from 'node:http';

/** A server never outlives its parent (IPC channel) nor this hard limit. */
const MAX_LIFETIME_MS = Number(process.env.BENCH_SERVER_MAX_MS ?? 300_000);

/** The listen queue of every bench server (the kernel caps it at net.core.somaxconn). */
export const BACKLOG = 4096;

/** Send time in ms, comparable across processes on one machine (sub-ms, unlike `Date.now()`). */
export const now = () => performance.timeOrigin + performance.now();

const padCache = new Map();

/**
 * The event data: `{"t":<send time>,"p":"xxx…"}`, about `size` bytes of JSON. Every
 * implementation gets an object with a fresh `t` per event; the load client finds events by the
 * `{"t":` that opens their data.
 */
export function payload(size) {
	let p = padCache.get(size);
	if (p === undefined) {
		// `{"t":1763904567890.123,"p":""}` is about 31 bytes before the padding.
		p = 'x'.repeat(Math.max(0, size - 31));
		padCache.set(size, p);
	}
	return { t: now(), p };
}

/**
 * The control plane of one implementation, whatever serves it: `publish` answers
 * `POST /publish?count=K&size=B`, `stats` answers `GET /stats` (`?gc` collects first, `?reset`
 * restarts the RSS peak). The node:http servers below and the built apps (bench/app) both use it.
 *
 * `impl.publish(count, size)` broadcasts `count` events (it may return `{ first, last }` event
 * ids, or a promise of them, for the replay phases); `impl.connections()` (optional) counts what
 * the implementation itself holds open (or a promise of it); `open()` counts the open `/sse` responses where the
 * server can see them.
 */
export function controlPlane(name, impl, open = () => undefined) {
	let peakRss = process.memoryUsage.rss();
	// Sampled rather than exact: a storm's peak lasts hundreds of ms, so 20 ms resolution is enough.
	const sampler = setInterval(() => {
		const rss = process.memoryUsage.rss();
		if (rss > peakRss) peakRss = rss;
	}, 20);
	sampler.unref();
	return {
		async publish(params) {
			const count = Math.min(Number(params.get('count') ?? 1), 1_000_000);
			const size = Math.min(Number(params.get('size') ?? 128), 1_000_000);
			return (await impl.publish(count, size)) ?? {};
		},
		async stats(params) {
			const connections = (await impl.connections?.()) ?? open();
			if (params.has('gc') && globalThis.gc) {
				// Twice: the first pass can leave garbage that only a second one frees (weak refs).
				globalThis.gc();
				globalThis.gc();
			}
			const memory = process.memoryUsage();
			if (params.has('reset')) peakRss = memory.rss;
			const cpu = process.cpuUsage();
			return {
				name,
				connections,
				open: open(),
				rss: memory.rss,
				heapUsed: memory.heapUsed,
				external: memory.external, // Buffers and typed arrays live outside the JS heap
				peakRss: Math.max(peakRss, memory.rss),
				cpuMs: (cpu.user + cpu.system) / 1000,
				uptimeMs: performance.now(),
			};
		},
	};
}

/**
 * A bench server never outlives the runner (its IPC channel) nor `MAX_LIFETIME_MS`, and exits on
 * SIGTERM in an orderly way (not death by signal), so that `--cpu-prof` gets to write its profile.
 */
export function endWithParent(name) {
	const exit = () => process.exit(0);
	process.on('disconnect', exit);
	process.on('SIGTERM', exit);
	setTimeout(() => {
		console.error(`[${name}] lifetime limit reached, exiting`);
		exit();
	}, MAX_LIFETIME_MS).unref();
}

/**
 * Starts the node:http server for one implementation: `impl.handle(req, res)` serves `GET /sse`,
 * the rest is the control plane above (`impl.publish`, `impl.connections`).
 */
export async function startBenchServer(name, impl) {
	let open = 0; // /sse responses not yet closed, counted the same way for everyone
	const control = controlPlane(name, impl, () => open);

	const server = http.createServer(async (req, res) => {
		const url = new URL(req.url, 'http://bench');
		try {
			if (url.pathname === '/sse') {
				open++;
				res.once('close', () => open--);
				await impl.handle(req, res);
			} else if (url.pathname === '/publish' && req.method === 'POST') {
				reply(res, await control.publish(url.searchParams));
			} else if (url.pathname === '/stats') {
				reply(res, await control.stats(url.searchParams));
			} else {
				res.writeHead(404).end();
			}
		} catch (error) {
			console.error(`[${name}]`, error);
			if (!res.headersSent) res.writeHead(500).end(String(error));
			else res.destroy();
		}
	});
	// Keep-alive for the publisher's connection; SSE sockets are never idle long enough to matter.
	server.keepAliveTimeout = 60_000;
	server.maxConnections = 30_000;

	await new Promise((resolve) =>
		server.listen({ port: 0, host: '127.0.0.1', backlog: BACKLOG }, resolve),
	);
	const { port } = server.address();
	endWithParent(name);
	process.send?.({ type: 'listening', port });
	return server;
}

function reply(res, body) {
	const text = JSON.stringify(body);
	res.writeHead(200, {
		'content-type': 'application/json',
		'content-length': Buffer.byteLength(text),
	});
	res.end(text);
}

/** Reads an integer option given by the runner through the environment. */
export function envInt(name, fallback) {
	const value = Number(process.env[name]);
	return Number.isFinite(value) && value > 0 ? value : fallback;
}
