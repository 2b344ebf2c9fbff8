/**
 * `npm run bench`: packages the library and builds the bench app once per implementation, then
 * for each N starts every server in its own process, drives it with the load client (another
 * process), and writes the results as JSON and as markdown tables (each implementation as a
 * ratio to raw in the same run, and the issue-15 targets) under bench/results/.
 *
 * Options: --n 1000,5000,10000 · --big-n 20000 · --mode inprocess,built · --only raw,… ·
 * --no-replay · --no-session-cap · --label <text> · --profile <dir> (see bench/README.md)
 */
import { execFileSync, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildApp, packageLibrary } from './build.mjs';
import { BUILT, builtName, IMPLEMENTATIONS, renderMarkdown } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const MODES = ['inprocess', 'built'];

const { values: args } = parseArgs({
	options: {
		n: { type: 'string', default: '1000,5000,10000' },
		'big-n': { type: 'string', default: '20000' },
		mode: { type: 'string', default: MODES.join(',') },
		only: { type: 'string', default: IMPLEMENTATIONS.join(',') },
		'no-replay': { type: 'boolean', default: false },
		'no-session-cap': { type: 'boolean', default: false },
		label: { type: 'string', default: '' },
		profile: { type: 'string' },
	},
});
const sizes = args.n.split(',').map(Number);
const modes = args.mode.split(',').filter((mode) => MODES.includes(mode));
const impls = args.only.split(',').filter((name) => IMPLEMENTATIONS.includes(name));

/**
 * The workload, sized so the whole run stays under ten minutes on 2 cores: 128-byte events,
 * bursts of 50 (the median of two after a warm-up), a 2.5 s saturation phase (in process only)
 * and a 3 s latency phase per server.
 */
const WORKLOAD = {
	size: 128,
	// A server whose burst takes seconds gets fewer: none starts after `budgetMs`.
	burst: { k: 50, reps: 2, budgetMs: 5000 },
	// Eight publishers posting one event at a time, at most 100 events ahead of delivery.
	saturation: { ms: 2500, window: 100, publishers: 8 },
	// A fixed, moderate load of 20,000 deliveries/s (a fifth of what raw sustains one event at a
	// time here): 20 events/s at N = 1,000, 2 events/s at N = 10,000.
	latency: { deliveries: 20_000, ms: 3000 },
	storm: { back: 100 },
	replay: { sizes: [1_000, 10_000, 100_000], anchors: 10, back: 100, reps: 5, batch: 1000 },
	// At the big N: connect and idle memory, and the storm only if asked (it costs a minute here).
	big: { storm: false },
	// Past maxSessions with every session live: M new sessions with `few` live, then with `many`.
	sessionCap: { maxSessions: 1000, few: 1000, many: 10_000, m: 1000 },
};
// For experiments: BENCH_WORKLOAD='{"burst":null,"latency":{"deliveries":60000,"ms":8000}}'
// replaces those parts (null skips a phase).
Object.assign(WORKLOAD, JSON.parse(process.env.BENCH_WORKLOAD ?? '{}'));

/**
 * Implementations whose streams send nothing before their first event: adapter-node (and Kit's
 * `setResponse`) flush the response head only with the first chunk, so the load client counts
 * them connected when the server holds the stream, not when the head arrives. (sveltekit-sse's
 * streams send an `open` event first: bench/impls/sveltekit-sse.mjs.)
 */
const LAZY_HEAD = new Set(['naive']);
/** Implementations with a history to resume from (raw keeps its last frames for this baseline). */
const RESUMABLE = new Set(['raw', 'svelte-sse-kit']);
/** Plain node:http servers: the same in either mode, measured once per N. */
const PLAIN = new Set(['raw', 'better-sse']);
/** naive's bursts take seconds at N = 10,000: it runs at the smaller N only. */
const NAIVE_MAX_N = 5000;
/**
 * Kit implementations measured in process even when their built app runs: svelte-sse-kit there
 * is the library's own cost without Kit's per-request work (and has the saturation and replay
 * phases); sveltekit-sse's in-process row would repeat its built row at the cost of its slow bursts.
 */
const IN_PROCESS_TOO = new Set(['svelte-sse-kit', 'naive']);
/** The whole run gives up after this, whatever is still going. */
const RUN_BUDGET_MS = Number(process.env.BENCH_BUDGET_MS ?? 9.5 * 60_000);
/** No server starts once less than this is left of the budget. */
const LAST_START_MS = RUN_BUDGET_MS - 20_000;

const started = Date.now();
const children = new Set();
/** What has been measured so far (set once the builds are done). */
let run;
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s`;
const say = (message) => console.log(`[bench ${elapsed()}] ${message}`);

function killAll() {
	for (const child of children) child.kill('SIGKILL');
}
process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM']) {
	process.on(signal, () => {
		killAll();
		process.exit(130);
	});
}
setTimeout(() => {
	say('run budget exceeded: stopping, and writing what was measured');
	killAll();
	// `run` is set before any server starts; the server being measured goes without a row.
	if (run) writeReport({ ...run, stopped: 'run budget exceeded' });
	process.exit(1);
}, RUN_BUDGET_MS).unref();

function track(child) {
	children.add(child);
	child.once('exit', () => children.delete(child));
	return child;
}

/**
 * The servers of one N, in the order they run: `key` names the results' row, `name` the
 * implementation, `app` the built app's directory (absent for a server of bench/servers/).
 */
function serversOf(apps) {
	const servers = [];
	for (const name of impls) {
		const inProcess = modes.includes('inprocess') && (!apps[name] || IN_PROCESS_TOO.has(name));
		if (PLAIN.has(name) || inProcess) servers.push({ key: name, name });
	}
	for (const name of impls) {
		if (apps[name]) servers.push({ key: builtName(name), name, app: apps[name] });
	}
	return servers;
}

/**
 * The stream count a process may hold: the soft `ulimit -n` less what else it has open, in
 * thousands (the server and the load client each hold one socket per stream).
 */
function streamRoom() {
	const limit = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
	return Number.isFinite(limit) ? Math.floor((limit - 500) / 500) * 500 : Infinity;
}

function profileArgs(name) {
	if (!args.profile) return [];
	const file = `${name.replace(/\W+/g, '-')}-${Date.now()}.cpuprofile`;
	return ['--cpu-prof', `--cpu-prof-dir=${path.resolve(args.profile)}`, `--cpu-prof-name=${file}`];
}

function freePort() {
	return new Promise((resolve, reject) => {
		const probe = net.createServer();
		probe.once('error', reject);
		probe.listen(0, '127.0.0.1', () => {
			const { port } = probe.address();
			probe.close(() => resolve(port));
		});
	});
}

/**
 * Forks a server and resolves with it and its port once it listens: a bench/servers/ one says so
 * over IPC, a built app (`node build`) as adapter-node does, on stdout.
 */
async function startServer(server, env) {
	const port = server.app ? await freePort() : 0;
	const entry = server.app
		? path.join(server.app, 'index.js')
		: path.join(here, 'servers', `${server.name}.mjs`);
	const child = track(
		fork(entry, [], {
			execArgv: [
				'--expose-gc',
				...(server.app ? ['--import', path.join(here, 'servers/listen-backlog.mjs')] : []),
				...profileArgs(server.key),
			],
			env: {
				...process.env,
				...env,
				...(server.app && {
					NODE_ENV: 'production',
					HOST: '127.0.0.1',
					PORT: String(port),
					// Without ORIGIN adapter-node assumes https (and the hub's cookie would get `Secure`).
					ORIGIN: `http://127.0.0.1:${port}`,
				}),
			},
			stdio: ['ignore', server.app ? 'pipe' : 'inherit', 'inherit', 'ipc'],
		}),
	);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${server.key} did not start`)), 15_000);
		const listening = (at) => {
			clearTimeout(timer);
			resolve({ child, port: at });
		};
		child.once('exit', (code) =>
			reject(new Error(`${server.key} exited (${code}) before listening`)),
		);
		child.on('message', (message) => {
			if (message?.type === 'listening') listening(message.port);
		});
		child.stdout?.setEncoding('utf8').on('data', (text) => {
			if (text.includes('Listening on')) listening(port);
			else process.stdout.write(text);
		});
	});
}

function runLoad(config) {
	const child = track(
		fork(path.join(here, 'load.mjs'), [JSON.stringify(config)], {
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		}),
	);
	return new Promise((resolve) => {
		// The load client has its own deadline; this one catches a client that hangs past it.
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			resolve({ error: 'load client hung' });
		}, config.deadlineMs + 10_000);
		child.on('message', (message) => {
			if (message?.type === 'progress') say(`  ${config.name} N=${config.n}: ${message.message}`);
			if (message?.type === 'result') {
				clearTimeout(timer);
				resolve(message.result);
			}
		});
		child.once('exit', () => {
			clearTimeout(timer);
			resolve({ error: 'load client exited without a result' });
		});
	});
}

async function stop(child) {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((resolve) => child.once('exit', resolve));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
	await exited;
	clearTimeout(timer);
}

/** Runs the load client against a fresh server; the result, with how long it all took. */
async function measure(server, env, config) {
	const start = Date.now();
	if (start - started > LAST_START_MS) return { error: 'skipped: the run budget is nearly spent' };
	try {
		const { child, port } = await startServer(server, env);
		try {
			const result = await runLoad({ ...config, name: server.key, port });
			return { ...result, wallMs: Date.now() - start };
		} finally {
			await stop(child);
		}
	} catch (error) {
		return { error: String(error.message ?? error) };
	}
}

const gitHead = (() => {
	try {
		const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })
			.toString()
			.trim();
		const dirty = execFileSync('git', ['status', '--porcelain', 'src', 'bench'], { cwd: root })
			.toString()
			.trim();
		return dirty ? `${head} + uncommitted changes` : head;
	} catch {
		return 'unknown';
	}
})();

function versionsOf(names) {
	const versions = {};
	for (const name of names) {
		try {
			const file = path.join(root, 'node_modules', name, 'package.json');
			versions[name] = JSON.parse(readFileSync(file, 'utf8')).version;
		} catch {
			versions[name] = 'unknown';
		}
	}
	return versions;
}

say(
	`Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), commit ${gitHead}`,
);
say('packaging src/lib with svelte-package');
const pkg = packageLibrary();
const env = { BENCH_PKG: pkg };

const apps = {};
const buildErrors = {};
if (modes.includes('built')) {
	const names = impls.filter((impl) => BUILT.includes(impl));
	say(`building the ${names.join(' and ')} apps (vite build, adapter-node), side by side`);
	await Promise.all(
		names.map((name) =>
			buildApp(name, pkg).then(
				(dir) => {
					apps[name] = dir;
				},
				(error) => {
					buildErrors[name] = error.message;
					say(`  ERROR ${error.message}`);
				},
			),
		),
	);
}
const servers = serversOf(apps);
const room = streamRoom();
const bigN = Math.min(Number(args['big-n']) || 0, room);

run = {
	date: new Date().toISOString(),
	label: args.label,
	node: process.version,
	cores: os.cpus().length,
	cpu: os.cpus()[0]?.model ?? 'unknown',
	memory: os.totalmem(),
	commit: gitHead,
	versions: versionsOf(['better-sse', 'sveltekit-sse', '@sveltejs/kit', '@sveltejs/adapter-node']),
	workload: WORKLOAD,
	modes,
	bigN: { asked: Number(args['big-n']) || 0, reached: bigN, streamRoom: room },
	results: {},
	replay: {},
};

/** What the load client does at connection count `n` against `server`. */
function phasesOf(server, n) {
	const resumable = RESUMABLE.has(server.name);
	const common = { n, size: WORKLOAD.size, lazyHead: LAZY_HEAD.has(server.name) };
	if (!sizes.includes(n)) {
		// The big N: the connection-oriented phases only.
		const storm = resumable && WORKLOAD.big?.storm ? WORKLOAD.storm : undefined;
		return { ...common, storm, deadlineMs: 120_000 };
	}
	return {
		...common,
		// sveltekit-sse's built app skips bursts: one took 27 s at N = 5,000 on this machine, a minute
		// of the budget per N for a figure its in-process row (`--mode inprocess`) gives.
		burst: server.app && server.name === 'sveltekit-sse' ? undefined : WORKLOAD.burst,
		// Built apps skip saturation: it measures the publish path, which building does not change.
		saturation: server.app ? undefined : WORKLOAD.saturation,
		latency: WORKLOAD.latency,
		storm: resumable ? WORKLOAD.storm : undefined,
		deadlineMs: 90_000,
	};
}

/** At the big N: raw and the built apps (or, without them, the in-process Kit handlers). */
function bigServers() {
	const built = servers.filter((server) => server.app);
	const kit = built.length > 0 ? built : servers.filter((s) => BUILT.includes(s.key));
	return [...servers.filter((server) => server.key === 'raw'), ...kit];
}

/** Every server of one N, one after the other. */
async function measureAt(n, atN) {
	run.results[n] = {};
	for (const server of atN.filter((s) => s.name !== 'naive' || n <= NAIVE_MAX_N)) {
		say(`${server.key}, N=${n}`);
		const result = await measure(server, env, phasesOf(server, n));
		if (result.error) say(`  ${server.key} N=${n}: ERROR ${result.error}`);
		run.results[n][server.key] = result;
	}
	for (const [name, error] of Object.entries(buildErrors)) {
		run.results[n][builtName(name)] = { error };
	}
}

for (const n of sizes) await measureAt(n, servers);

// In process: the figure is the history store's cost of making a session, the same code either
// way, and a connection costs less there, so the 13,000 this phase opens take less time.
const kitServer = { key: 'svelte-sse-kit', name: 'svelte-sse-kit' };
if (!args['no-session-cap'] && impls.includes(kitServer.name) && WORKLOAD.sessionCap) {
	const cap = WORKLOAD.sessionCap;
	say(
		`session cap, ${kitServer.key}: maxSessions ${cap.maxSessions}, ${cap.m} new with ${cap.few} and with ${cap.many} live`,
	);
	run.sessionCap = await measure(
		kitServer,
		{ ...env, BENCH_MAX_SESSIONS: String(cap.maxSessions) },
		{ mode: 'sessionCap', n: cap.many, sessionCap: cap, deadlineMs: 90_000 },
	);
	if (run.sessionCap.error) say(`  ERROR ${run.sessionCap.error}`);
}

if (!args['no-replay']) {
	for (const server of servers.filter((s) => !s.app && RESUMABLE.has(s.name))) {
		say(`replay cost, ${server.key}, history up to ${WORKLOAD.replay.sizes.at(-1)}`);
		const history = String(WORKLOAD.replay.sizes.at(-1));
		run.replay[server.key] = await measure(
			server,
			{ ...env, BENCH_HISTORY: history },
			{
				mode: 'replay',
				n: WORKLOAD.replay.anchors,
				size: WORKLOAD.size,
				// raw resends everything after the id it is given; the hub sends a new topic's history.
				replay: { ...WORKLOAD.replay, fullReplayId: server.name === 'raw' ? '0' : undefined },
				deadlineMs: 90_000,
			},
		);
	}
}

// The big N last: the phases above are what the targets need if the budget runs short.
if (bigN > sizes.at(-1)) {
	if (bigN < Number(args['big-n'])) {
		say(`big N: ${args['big-n']} asked, ${bigN} reached (ulimit -n allows ${room} streams)`);
	}
	await measureAt(bigN, bigServers());
}

writeReport(run);
process.exit(0);

/** Writes the run as JSON and markdown under bench/results/, and prints the markdown. */
function writeReport(measured) {
	measured.durationMs = Date.now() - started;
	const stamp = measured.date.replace(/[:.]/g, '-');
	const dir = path.join(here, 'results');
	mkdirSync(dir, { recursive: true });
	writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(measured, null, '\t')}\n`);
	const markdown = renderMarkdown(measured);
	writeFileSync(path.join(dir, `${stamp}.md`), markdown);
	console.log(`\n${markdown}`);
	say(`done in ${(measured.durationMs / 1000).toFixed(0)} s: bench/results/${stamp}.json and .md`);
}
