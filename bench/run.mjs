/**
 * `npm run bench`: packages the library, then for each N starts every server in its own process,
 * drives it with the load client (another process), and writes the results as JSON and as a
 * markdown table (each implementation as a ratio to raw in the same run) under bench/results/.
 *
 * Options: --n 1000,5000,10000 · --only raw,svelte-sse-kit,… · --no-replay · --label <text>
 * · --profile <dir> (each server writes a V8 CPU profile there, for `--cpu-prof` analysis)
 */
import { execFileSync, fork } from 'node:child_process';
import {
	mkdirSync,
	mkdtempSync,
	readFileSync,
	rmSync,
	symlinkSync,
	unlinkSync,
	writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { IMPLEMENTATIONS, renderMarkdown } from './report.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');

const { values: args } = parseArgs({
	options: {
		n: { type: 'string', default: '1000,5000,10000' },
		only: { type: 'string', default: IMPLEMENTATIONS.join(',') },
		'no-replay': { type: 'boolean', default: false },
		label: { type: 'string', default: '' },
		profile: { type: 'string' },
	},
});
const sizes = args.n.split(',').map(Number);
const impls = args.only.split(',').filter((name) => IMPLEMENTATIONS.includes(name));

/**
 * The workload, sized so the whole run stays under ten minutes on 2 cores (about 4½ here):
 * 128-byte events, bursts of 50, a 3 s saturation phase and a 4 s latency phase per server.
 */
const WORKLOAD = {
	size: 128,
	burst: { k: 50, reps: 3 },
	// Eight publishers posting one event at a time, at most 100 events ahead of delivery.
	saturation: { ms: 3000, window: 100, publishers: 8 },
	// A fixed, moderate load of 20,000 deliveries/s (a fifth of what raw sustains one event at a
	// time here): 20 events/s at N = 1,000, 2 events/s at N = 10,000.
	latency: { deliveries: 20_000, ms: 4000 },
	storm: { back: 100 },
	replay: { sizes: [1_000, 10_000, 100_000], anchors: 10, back: 100, reps: 5, batch: 1000 },
};
// For experiments: BENCH_WORKLOAD='{"burst":null,"latency":{"deliveries":60000,"ms":8000}}'
// replaces those parts (null skips a phase).
Object.assign(WORKLOAD, JSON.parse(process.env.BENCH_WORKLOAD ?? '{}'));

/**
 * Implementations whose streams send nothing before their first event: adapter-node (and Kit's
 * `setResponse`) flush the response head only with the first chunk, so the load client counts
 * them connected when the server holds the stream, not when the head arrives.
 */
const LAZY_HEAD = new Set(['sveltekit-sse', 'naive']);

/** Implementations with a history to resume from (raw keeps its last frames for this baseline). */
const RESUMABLE = new Set(['raw', 'svelte-sse-kit']);
/** The whole run gives up after this, whatever is still going. */
const RUN_BUDGET_MS = 9.5 * 60_000;

const started = Date.now();
const children = new Set();
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
	say('run budget exceeded: stopping');
	killAll();
	process.exit(1);
}, RUN_BUDGET_MS).unref();

function track(child) {
	children.add(child);
	child.once('exit', () => children.delete(child));
	return child;
}

/** Builds src/lib with svelte-package into a temporary directory: always current, never dist/. */
function packageLibrary() {
	const out = mkdtempSync(path.join(os.tmpdir(), 'svelte-sse-kit-bench-'));
	// tsconfig.json extends .svelte-kit's: without it (a fresh checkout) TypeScript falls back to
	// ES5, whose spread of a Set is empty, and every stream request is refused.
	execFileSync(path.join(root, 'node_modules/.bin/svelte-kit'), ['sync'], {
		cwd: root,
		stdio: ['ignore', 'ignore', 'inherit'],
	});
	execFileSync(
		path.join(root, 'node_modules/.bin/svelte-package'),
		['-i', 'src/lib', '-o', out, '-t', 'false'],
		{
			cwd: root,
			stdio: ['ignore', 'ignore', 'inherit'],
		},
	);
	// The package imports its peers (svelte, @sveltejs/kit): they resolve from the project's own.
	const modules = path.join(out, 'node_modules');
	symlinkSync(path.join(root, 'node_modules'), modules, 'dir');
	process.on('exit', () => {
		unlinkSync(modules); // the link, before the directory: never what it points to
		rmSync(out, { recursive: true, force: true });
	});
	return out;
}

/** Forks a server and resolves with it and its port once it listens. */
function startServer(name, env) {
	const child = track(
		fork(path.join(here, 'servers', `${name}.mjs`), [], {
			execArgv: [
				'--expose-gc',
				...(args.profile
					? [
							'--cpu-prof',
							`--cpu-prof-dir=${path.resolve(args.profile)}`,
							`--cpu-prof-name=${name}-${Date.now()}.cpuprofile`,
						]
					: []),
			],
			env: { ...process.env, ...env },
			stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
		}),
	);
	return new Promise((resolve, reject) => {
		const timer = setTimeout(() => reject(new Error(`${name} did not start`)), 15_000);
		child.once('exit', (code) => reject(new Error(`${name} exited (${code}) before listening`)));
		child.on('message', (message) => {
			if (message?.type === 'listening') {
				clearTimeout(timer);
				resolve({ child, port: message.port });
			}
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

async function measure(name, env, config) {
	const { child, port } = await startServer(name, env);
	try {
		return await runLoad({ ...config, name, port });
	} finally {
		await stop(child);
	}
}

const gitHead = (() => {
	try {
		const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root })
			.toString()
			.trim();
		const dirty = execFileSync('git', ['status', '--porcelain', 'src'], { cwd: root })
			.toString()
			.trim();
		return dirty ? `${head} + uncommitted changes in src/` : head;
	} catch {
		return 'unknown';
	}
})();

say(
	`Node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), commit ${gitHead}`,
);
// BENCH_PKG names a package built already (another commit's, to compare two in turn).
const pkg = process.env.BENCH_PKG ?? packageLibrary();
say(process.env.BENCH_PKG ? `library from ${pkg}` : 'packaged src/lib with svelte-package');

const run = {
	date: new Date().toISOString(),
	label: args.label,
	node: process.version,
	cores: os.cpus().length,
	cpu: os.cpus()[0]?.model ?? 'unknown',
	memory: os.totalmem(),
	commit: gitHead,
	versions: versionsOf(['better-sse', 'sveltekit-sse', '@sveltejs/kit']),
	workload: WORKLOAD,
	results: {},
	replay: {},
};

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

const env = { BENCH_PKG: pkg };
for (const n of sizes) {
	run.results[n] = {};
	for (const name of impls) {
		say(`${name}, N=${n}`);
		const result = await measure(name, env, {
			n,
			size: WORKLOAD.size,
			burst: WORKLOAD.burst,
			saturation: WORKLOAD.saturation,
			latency: WORKLOAD.latency,
			storm: RESUMABLE.has(name) ? WORKLOAD.storm : undefined,
			lazyHead: LAZY_HEAD.has(name),
			deadlineMs: 90_000,
		}).catch((error) => ({ error: String(error.message ?? error) }));
		if (result.error) say(`  ${name} N=${n}: ERROR ${result.error}`);
		run.results[n][name] = result;
	}
}

if (!args['no-replay']) {
	for (const name of impls.filter((impl) => RESUMABLE.has(impl))) {
		say(`replay cost, ${name}, history up to ${WORKLOAD.replay.sizes.at(-1)}`);
		const history = String(WORKLOAD.replay.sizes.at(-1));
		run.replay[name] = await measure(
			name,
			{ ...env, BENCH_HISTORY: history },
			{
				mode: 'replay',
				n: WORKLOAD.replay.anchors,
				size: WORKLOAD.size,
				// raw resends everything after the id it is given; the hub sends a new topic's history.
				replay: { ...WORKLOAD.replay, fullReplayId: name === 'raw' ? '0' : undefined },
				deadlineMs: 90_000,
			},
		).catch((error) => ({ error: String(error.message ?? error) }));
	}
}

run.durationMs = Date.now() - started;
const stamp = run.date.replace(/[:.]/g, '-');
const dir = path.join(here, 'results');
mkdirSync(dir, { recursive: true });
writeFileSync(path.join(dir, `${stamp}.json`), `${JSON.stringify(run, null, '\t')}\n`);
const markdown = renderMarkdown(run);
writeFileSync(path.join(dir, `${stamp}.md`), markdown);
console.log(`\n${markdown}`);
say(`done in ${(run.durationMs / 1000).toFixed(0)} s: bench/results/${stamp}.json and .md`);
process.exit(0);
