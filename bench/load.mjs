/**
 * The load client: its own process, N raw TCP sockets with a hand-written `GET /sse`, no SSE
 * parser. It is forked by run.mjs with a JSON config as its argument, runs the phases it is
 * given against one server, and sends back one result object over IPC.
 *
 * Events are counted by the `{"t":` that opens every event's data rather than by blank lines:
 * keep-alive comments and pings are frames too, and HTTP/1.1 chunked framing can sit between
 * the two newlines of a frame (sveltekit-sse enqueues its lines separately), while the JSON of
 * one event always arrives in one piece. Timestamps are read only on a sample of the sockets.
 */
import http from 'node:http';
import net from 'node:net';

const config = JSON.parse(process.argv[2] ?? '{}');
const { port, n = 1000, size = 128 } = config;
const HOST = '127.0.0.1';
const MARK = Buffer.from('{"t":');
const TS = /\{"t":([\d.]+),/g;
/** Sockets whose timestamps are parsed: about 200, spread evenly over the connection order. */
const SAMPLES = 200;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => process.send?.({ type: 'progress', message });

// A load run never outlives its budget nor its parent.
const deadline = setTimeout(() => {
	log(`deadline of ${config.deadlineMs} ms reached, giving up`);
	finish({ error: 'deadline' });
}, config.deadlineMs ?? 120_000);
process.on('disconnect', () => process.exit(0));

let totalEvents = 0;
/** Latency samples (ms) while a phase records them, else null. */
let recording = null;
/** `{ target, resolve }` pairs waiting for `totalEvents` to reach a count. */
let waiters = [];

class Conn {
	constructor(sampled) {
		this.sampled = sampled;
		this.socket = null;
		this.headDone = false;
		this.head = null;
		this.status = 0;
		this.cookie = null;
		this.events = 0;
		/** How many bytes of MARK the previous chunk ended with (MARK may straddle two reads). */
		this.partial = 0;
		/** Unparsed tail of a sampled socket's text (a timestamp may straddle two reads). */
		this.carry = '';
		this.closed = false;
		/** The `retry:` hint of the stream's first bytes (`-1`: none there). */
		this.retry = null;
	}
}

const RETRY = /(?:^|\n)retry: (\d+)\n/;

/**
 * The reconnect spread the hints would make: every client cut off at once and back after its
 * `retry:` (as browsers are after a deploy), the share of them due in the busiest second.
 */
function retrySpread(conns) {
	const hints = conns.map((c) => c.retry).filter((hint) => hint !== null && hint >= 0);
	if (hints.length === 0) return null;
	hints.sort((a, b) => a - b);
	let busiest = 0;
	for (let i = 0, j = 0; i < hints.length; i++) {
		while (hints[i] - hints[j] >= 1000) j++;
		busiest = Math.max(busiest, i - j + 1);
	}
	return {
		clients: hints.length,
		minMs: hints[0],
		maxMs: hints.at(-1),
		busiestSecondShare: round(busiest / hints.length, 3),
	};
}

function countMarks(conn, chunk) {
	let count = 0;
	if (conn.partial > 0) {
		const rest = MARK.length - conn.partial;
		if (chunk.length >= rest && chunk.compare(MARK, conn.partial, MARK.length, 0, rest) === 0)
			count++;
	}
	for (let i = chunk.indexOf(MARK); i !== -1; i = chunk.indexOf(MARK, i + MARK.length)) count++;
	conn.partial = 0;
	for (let k = Math.min(MARK.length - 1, chunk.length); k > 0; k--) {
		if (chunk.compare(MARK, 0, k, chunk.length - k) === 0) {
			conn.partial = k;
			break;
		}
	}
	return count;
}

function readTimestamps(conn, chunk, at) {
	const text = conn.carry + chunk.toString('latin1');
	TS.lastIndex = 0;
	let consumed = 0;
	for (let match = TS.exec(text); match; match = TS.exec(text)) {
		recording.push(at - Number(match[1]));
		consumed = TS.lastIndex;
	}
	// A timestamp that is cut off is at most ~25 characters long, so the last 40 are enough.
	conn.carry = text.slice(Math.max(consumed, text.length - 40));
}

function onBody(conn, chunk, at) {
	const count = countMarks(conn, chunk);
	if (conn.sampled && recording) readTimestamps(conn, chunk, at);
	if (count === 0) return;
	conn.events += count;
	totalEvents += count;
	if (waiters.length > 0) {
		const due = waiters.filter((w) => totalEvents >= w.target);
		if (due.length > 0) {
			waiters = waiters.filter((w) => totalEvents < w.target);
			for (const w of due) {
				clearTimeout(w.timer);
				w.resolve(true);
			}
		}
	}
}

/** Resolves `true` once `totalEvents >= target`, `false` after `timeoutMs`. */
function waitTotal(target, timeoutMs) {
	if (totalEvents >= target) return Promise.resolve(true);
	return new Promise((resolve) => {
		const waiter = { target, resolve, timer: null };
		waiter.timer = setTimeout(() => {
			waiters = waiters.filter((w) => w !== waiter);
			resolve(false);
		}, timeoutMs);
		waiters.push(waiter);
	});
}

/**
 * Opens one SSE stream; resolves when the response head has arrived with a 200 or, for servers
 * that send their head only with the first event (`config.lazyHead`), once the request is sent.
 */
function open(conn, headers = {}) {
	return new Promise((resolve, reject) => {
		const socket = net.connect({ port, host: HOST });
		if (config.lazyHead) socket.once('connect', resolve);
		conn.socket = socket;
		socket.setNoDelay(true);
		const extra = Object.entries(headers)
			.filter(([, value]) => value)
			.map(([name, value]) => `${name}: ${value}\r\n`)
			.join('');
		socket.write(
			`GET /sse?topics=tick HTTP/1.1\r\nHost: ${HOST}:${port}\r\nAccept: text/event-stream\r\n${extra}\r\n`,
		);
		socket.on('data', (chunk) => {
			const at = now();
			if (!conn.headDone) {
				conn.head = conn.head ? Buffer.concat([conn.head, chunk]) : chunk;
				const end = conn.head.indexOf('\r\n\r\n');
				if (end < 0) return;
				const text = conn.head.subarray(0, end).toString('latin1');
				chunk = conn.head.subarray(end + 4);
				conn.head = null;
				conn.headDone = true;
				conn.status = Number(text.slice(9, 12));
				conn.cookie = /^set-cookie:\s*([^;\r\n]+)/im.exec(text)?.[1] ?? conn.cookie;
				if (conn.status !== 200) {
					socket.destroy();
					reject(new Error(`status ${conn.status}`));
					return;
				}
				resolve();
			}
			if (conn.retry === null) {
				const match = RETRY.exec(chunk.toString('latin1', 0, Math.min(chunk.length, 256)));
				conn.retry = match ? Number(match[1]) : -1;
			}
			onBody(conn, chunk, at);
		});
		socket.on('error', (error) => reject(error));
		socket.on('close', () => {
			conn.closed = true;
			reject(new Error('closed before the response head'));
		});
	});
}

/**
 * Opens `conns` with at most `concurrency` handshakes in flight; resolves with the time it took
 * and how many failed (failures are reported, not retried).
 */
async function openAll(conns, headersOf, concurrency, timeoutMs) {
	const start = now();
	let next = 0;
	let failed = 0;
	let firstError = null;
	const worker = async () => {
		while (next < conns.length && now() - start < timeoutMs) {
			const conn = conns[next++];
			try {
				await open(conn, headersOf(conn));
			} catch (error) {
				failed++;
				firstError ??= String(error.message ?? error);
			}
		}
	};
	await Promise.all(Array.from({ length: Math.min(concurrency, conns.length) }, worker));
	return { ms: now() - start, failed: failed + (conns.length - next), firstError };
}

function makeConns(count) {
	const stride = Math.max(1, Math.floor(count / SAMPLES));
	return Array.from({ length: count }, (_, i) => new Conn(i % stride === 0));
}

function closeAll(conns) {
	for (const conn of conns) conn.socket?.destroy();
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

function request(method, path, timeoutMs = 30_000) {
	return new Promise((resolve, reject) => {
		const req = http.request(
			{ host: HOST, port, method, path, agent, timeout: timeoutMs },
			(res) => {
				let body = '';
				res.setEncoding('utf8');
				res.on('data', (part) => {
					body += part;
				});
				res.on('end', () => {
					try {
						resolve(JSON.parse(body || '{}'));
					} catch (error) {
						reject(error);
					}
				});
			},
		);
		req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
		req.on('error', reject);
		req.end();
	});
}

const publish = (count, eventSize = size) =>
	request('POST', `/publish?count=${count}&size=${eventSize}`);
const stats = (query = '') => request('GET', `/stats${query}`);

function cpuMs() {
	const cpu = process.cpuUsage();
	return (cpu.user + cpu.system) / 1000;
}

/** Runs `fn` and adds the share of a core that the server and this client used meanwhile. */
async function withCpu(fn) {
	const [server0, client0, t0] = [await stats(), cpuMs(), now()];
	const result = await fn();
	const [server1, client1, t1] = [await stats(), cpuMs(), now()];
	return {
		...result,
		serverCpu: round((server1.cpuMs - server0.cpuMs) / (t1 - t0), 2),
		clientCpu: round((client1 - client0) / (t1 - t0), 2),
		serverCpuMs: round(server1.cpuMs - server0.cpuMs),
		// The server's CPU time per event delivered to one client: the cost of the fan-out path.
		cpuUsPerDelivery: result.deliveries
			? round(((server1.cpuMs - server0.cpuMs) * 1000) / result.deliveries, 2)
			: undefined,
	};
}

const round = (value, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;
const median = (values) => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : null;
};
function percentile(sorted, q) {
	return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null;
}

/** Waits until every published event has reached every open socket, or the time is up. */
async function drain(expected, timeoutMs) {
	return waitTotal(expected, timeoutMs);
}

/**
 * Waits until the server holds `count` streams: the moment a stream is set up on the server,
 * whether or not it has sent its response head yet.
 */
async function serverCounts(count, timeoutMs) {
	const start = now();
	while (now() - start < timeoutMs) {
		if ((await stats()).connections >= count) return true;
		await sleep(50);
	}
	return false;
}

// ---------------------------------------------------------------------------------------------
// Phases

/** Opens N streams; memory per idle connection from GC'd server stats before and after. */
async function phaseConnect(conns) {
	// Warm the request path first (module code, JIT, Kit's conversion) so "before" is a warm server.
	const warm = makeConns(Math.min(100, n));
	await openAll(warm, () => ({}), 50, 10_000);
	await serverCounts(warm.length, 5_000);
	closeAll(warm);
	await sleep(300);
	const before = await stats('?gc');
	const start = now();
	const opened = await openAll(conns, () => ({}), config.connectConcurrency ?? 256, 60_000);
	const live = n - opened.failed;
	const counted = await serverCounts(live, 30_000);
	const connectMs = now() - start;
	const connected = await stats();
	log(`${n} connected in ${round(connectMs / 1000, 2)} s (${opened.failed} failed)`);
	await sleep(500);
	const after = await stats('?gc');
	return {
		connectMs: round(connectMs),
		// The server's CPU time for it: steadier than wall time on a machine shared with others.
		serverCpuMs: round(connected.cpuMs - before.cpuMs),
		counted,
		failed: opened.failed,
		firstError: opened.firstError,
		serverConnections: after.connections,
		rssPerConn: round((after.rss - before.rss) / live, 0),
		heapPerConn: round((after.heapUsed - before.heapUsed) / live, 0),
		rssBefore: before.rss,
		rssAfter: after.rss,
	};
}

/**
 * Time for every socket to receive a burst of K events published in one tick: the median of
 * `reps` bursts, after one that warms the publish path up. Slow servers get fewer: a burst that
 * takes seconds needs no warm-up, and none starts after `budgetMs`.
 */
async function phaseBurst(live, { k, reps, budgetMs = 8000 }) {
	const times = [];
	let timeouts = 0;
	let bursts = 0;
	const phaseStart = now();
	return withCpu(async () => {
		for (let rep = 0; rep <= reps && (times.length === 0 || now() - phaseStart < budgetMs); rep++) {
			const target = totalEvents + live * k;
			const start = now();
			await publish(k);
			const done = await drain(target, config.burstTimeoutMs ?? 20_000);
			const ms = now() - start;
			bursts++;
			if (!done) {
				timeouts++;
				await drain(target, 10_000); // let the backlog clear before the next phase
			}
			if (rep > 0 || ms > 1000) times.push(ms);
			await sleep(50);
		}
		const ms = median(times);
		return {
			k,
			deliveries: live * k * bursts,
			burstMs: round(ms),
			burstTimes: times.map((t) => round(t)),
			eventsPerSec: Math.round((live * k) / (ms / 1000)),
			timeouts,
		};
	});
}

/**
 * Single-event publishes back to back from several publishers, never more than `window` events
 * ahead of delivery, for `ms`: the delivered rate once the server is saturated.
 */
async function phaseSaturation(live, { ms, window, publishers }) {
	return withCpu(async () => {
		const base = totalEvents;
		let published = 0;
		const start = now();
		const stop = start + ms;
		const warmup = Math.min(500, ms / 4);
		let measureStart = null;
		const snapshot = setTimeout(() => {
			measureStart = { t: now(), total: totalEvents };
		}, warmup);
		const trace = process.env.BENCH_TRACE
			? setInterval(
					() =>
						log(
							`t=${Math.round(now() - start)} published=${published} delivered=${((totalEvents - base) / live).toFixed(1)}`,
						),
					100,
				)
			: null;
		const publisher = async () => {
			while (now() < stop) {
				if (published - (totalEvents - base) / live >= window) {
					await waitTotal(base + (published - window + 1) * live, 1_000);
					continue;
				}
				published++;
				await publish(1);
			}
		};
		await Promise.all(Array.from({ length: publishers }, publisher));
		clearInterval(trace);
		const end = { t: now(), total: totalEvents };
		clearTimeout(snapshot);
		const from = measureStart ?? { t: start, total: base };
		const drained = await drain(base + published * live, 15_000);
		return {
			eventsPerSec: Math.round((end.total - from.total) / ((end.t - from.t) / 1000)),
			deliveries: published * live,
			published,
			drained,
		};
	});
}

/**
 * `deliveries` per second in all, so one event every `live / deliveries` s, for `ms` (open
 * loop); latency read on the sampled sockets.
 */
async function phaseLatency(live, { deliveries, ms }) {
	const rate = deliveries / live;
	return withCpu(async () => {
		const base = totalEvents;
		const samples = [];
		recording = samples;
		const start = now();
		const total = Math.round((rate * ms) / 1000);
		const inFlight = new Set();
		for (let i = 0; i < total; i++) {
			const due = start + (i * 1000) / rate;
			const wait = due - now();
			if (wait > 0) await sleep(wait);
			const post = publish(1).finally(() => inFlight.delete(post));
			inFlight.add(post);
		}
		await Promise.allSettled(inFlight);
		const drained = await drain(base + total * live, 20_000);
		recording = null;
		samples.sort((a, b) => a - b);
		return {
			rate,
			deliveries: total * live,
			published: total,
			samples: samples.length,
			p50: round(percentile(samples, 0.5), 2),
			p99: round(percentile(samples, 0.99), 2),
			max: round(samples.at(-1) ?? Number.NaN, 2),
			drained,
		};
	});
}

const idBefore = (id, back) => id.replace(/\d+$/, (seq) => String(Number(seq) - back));

/**
 * Every socket drops and reconnects at once with a Last-Event-ID `back` events behind (and its
 * session cookie): time until all have caught up, and the server's peak RSS meanwhile.
 */
async function phaseStorm(conns, { back }) {
	const live = conns.filter((c) => !c.closed).length;
	const target = totalEvents + live * back;
	const { last } = await publish(back);
	await drain(target, 20_000);
	await sleep(200);
	const lastEventId = idBefore(last, back);
	const before = await stats('?reset');
	closeAll(conns);
	const fresh = conns.map((old) => Object.assign(new Conn(false), { cookie: old.cookie }));
	const base = totalEvents;
	const start = now();
	const opened = await openAll(
		fresh,
		(conn) => ({ 'Last-Event-ID': lastEventId, Cookie: conn.cookie }),
		config.stormConcurrency ?? fresh.length,
		60_000,
	);
	const caughtUp = await drain(base + (fresh.length - opened.failed) * back, 30_000);
	const ms = now() - start;
	await sleep(300);
	const after = await stats();
	const wrong = fresh.filter((c) => c.events !== back).length;
	return {
		back,
		reconnectMs: round(opened.ms),
		catchUpMs: round(ms),
		serverCpuMs: round(after.cpuMs - before.cpuMs),
		caughtUp,
		failed: opened.failed,
		firstError: opened.firstError,
		clientsWithWrongCount: wrong,
		peakRss: after.peakRss,
		peakRssOverBefore: after.peakRss - before.rss,
		retrySpread: retrySpread(fresh),
		conns: fresh,
	};
}

/**
 * Replay cost as history grows: `anchors` sockets stay connected while the history is filled to
 * each size; then (a) they all reconnect with no Last-Event-ID and get the whole retained history
 * (the default for a topic new to the client), (b) they reconnect `back` events behind, `reps`
 * times. Heap per retained event from GC'd stats.
 */
async function phaseReplay({ sizes, anchors: anchorCount, back, reps, batch, fullReplayId }) {
	const anchors = makeConns(anchorCount);
	await openAll(anchors, () => ({}), anchorCount, 10_000);
	await sleep(200);
	const memory = (s) => s.heapUsed + s.external;
	const heap0 = memory(await stats('?gc'));
	let filled = 0;
	let lastId = null;
	const results = [];
	for (const size of sizes) {
		while (filled < size) {
			const count = Math.min(batch, size - filled);
			const target = totalEvents + anchorCount * count;
			({ last: lastId } = await publish(count));
			await drain(target, 20_000);
			filled += count;
		}
		const heap = memory(await stats('?gc'));

		const full = anchors.map((a) => Object.assign(new Conn(false), { cookie: a.cookie }));
		let start = now();
		let base = totalEvents;
		await openAll(
			full,
			(c) => ({ Cookie: c.cookie, 'Last-Event-ID': fullReplayId }),
			anchorCount,
			10_000,
		);
		const fullDone = await drain(base + anchorCount * size, 60_000);
		const fullMs = now() - start;
		closeAll(full);

		const resumeTimes = [];
		for (let rep = 0; rep < reps; rep++) {
			const resume = anchors.map((a) => Object.assign(new Conn(false), { cookie: a.cookie }));
			start = now();
			base = totalEvents;
			await openAll(
				resume,
				(c) => ({ Cookie: c.cookie, 'Last-Event-ID': idBefore(lastId, back) }),
				anchorCount,
				10_000,
			);
			await drain(base + anchorCount * back, 10_000);
			resumeTimes.push(now() - start);
			closeAll(resume);
		}
		await sleep(200);
		const row = {
			retained: size,
			memoryPerEvent: round((heap - heap0) / size, 0),
			fullReplayMs: round(fullMs),
			fullReplayEventsPerSec: Math.round((anchorCount * size) / (fullMs / 1000)),
			fullDone,
			resumeMs: round(median(resumeTimes), 2),
		};
		log(
			`history ${size}: full replay ${row.fullReplayMs} ms for ${anchorCount} clients, resume ${back} back ${row.resumeMs} ms`,
		);
		results.push(row);
	}
	closeAll(anchors);
	return { anchors: anchorCount, back, reps, rows: results };
}

/**
 * Sessions past the hub's `maxSessions` with every session live (each stream is its own cookie
 * session): opens `few` streams (the cap), times `m` more (each one a session past the cap),
 * opens more until `many` are live, and times `m` more again. Flat (a ratio near 1) when making
 * room costs the same however many sessions are live.
 */
async function phaseSessionCap({ maxSessions, few, many, m }) {
	const conns = [];
	const openMore = async (count) => {
		const more = makeConns(count);
		conns.push(...more);
		const opened = await openAll(more, () => ({}), config.connectConcurrency ?? 256, 60_000);
		await serverCounts(conns.length, 30_000);
		return opened;
	};
	const timed = async () => {
		const start = now();
		const opened = await openMore(m);
		return { live: conns.length - m, ms: round(now() - start), failed: opened.failed };
	};
	await openMore(few);
	await timed(); // a warm-up: the first sessions past the cap run colder code than the rest
	const atFew = await timed();
	await openMore(many - conns.length);
	const atMany = await timed();
	const after = await stats();
	closeAll(conns);
	log(
		`${m} new sessions past the cap: ${atFew.ms} ms with ${atFew.live} live, ${atMany.ms} ms with ${atMany.live} live`,
	);
	return {
		maxSessions,
		m,
		atFew,
		atMany,
		connections: after.connections,
		ratio: round(atMany.ms / atFew.ms, 2),
	};
}

// ---------------------------------------------------------------------------------------------

const result = { name: config.name, n, size };

function finish(extra = {}) {
	clearTimeout(deadline);
	process.send?.({ type: 'result', result: { ...result, ...extra } });
	// Give the IPC message time to leave before the sockets are torn down with the process.
	setTimeout(() => process.exit(0), 100).unref();
}

async function main() {
	if (config.mode === 'replay') {
		result.replay = await phaseReplay(config.replay);
		return finish();
	}
	if (config.mode === 'sessionCap') {
		result.sessionCap = await phaseSessionCap(config.sessionCap);
		return finish();
	}
	let conns = makeConns(n);
	result.connect = await phaseConnect(conns);
	const live = () => conns.filter((c) => !c.closed && (c.headDone || config.lazyHead)).length;
	// Each phase starts from a collected heap, so one phase's garbage does not land in the next.
	const settle = async () => {
		await stats('?gc');
		await sleep(200);
	};
	if (config.burst) {
		await settle();
		result.burst = await phaseBurst(live(), config.burst);
		log(
			`burst of ${config.burst.k}: ${result.burst.burstMs} ms, ${result.burst.eventsPerSec} events/s`,
		);
	}
	if (config.saturation) {
		await settle();
		result.saturation = await phaseSaturation(live(), config.saturation);
		log(`saturation: ${result.saturation.eventsPerSec} events/s`);
	}
	if (config.latency) {
		await settle();
		result.latency = await phaseLatency(live(), config.latency);
		log(
			`latency at ${round(result.latency.rate, 1)}/s: p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, max ${result.latency.max} ms`,
		);
	}
	if (config.storm) {
		await settle();
		const storm = await phaseStorm(conns, config.storm);
		conns = storm.conns;
		delete storm.conns;
		result.storm = storm;
		log(
			`reconnect storm: all caught up in ${storm.catchUpMs} ms, peak RSS ${(storm.peakRss / 2 ** 20).toFixed(0)} MiB`,
		);
	}
	closeAll(conns);
	finish();
}

main().catch((error) => {
	log(`failed: ${error.stack ?? error}`);
	finish({ error: String(error.message ?? error) });
});
