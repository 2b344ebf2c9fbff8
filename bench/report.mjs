/**
 * Markdown tables from benchmark results: one run (`renderMarkdown`, used by run.mjs) or the
 * medians of several (`node bench/report.mjs bench/results/a.json b.json …`, for the README).
 *
 * Every figure is shown with its ratio to raw. Ratios are taken within a run (raw is measured
 * minutes apart from the others, on the same machine state), and across runs the median ratio
 * is shown, not the ratio of medians.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const IMPLEMENTATIONS = ['raw', 'svelte-sse-kit', 'better-sse', 'sveltekit-sse', 'naive'];
/** The implementations that also run as a built app (bench/app), and the name of that row. */
export const BUILT = ['svelte-sse-kit', 'sveltekit-sse'];
export const builtName = (name) => `${name} (built)`;
/** Table columns: raw, then the built apps (the comparison users see), then the rest. */
const COLUMNS = [
	'raw',
	...BUILT.map(builtName),
	'better-sse',
	'svelte-sse-kit',
	'sveltekit-sse',
	'naive',
];

const KiB = 1024;
const MiB = 1024 * 1024;

/** What the tables show, per connection count; `get` returns undefined where it does not apply. */
const METRICS = [
	{
		label: 'saturation: delivered events/s, one event per publish ↑',
		get: (r) => r.saturation?.eventsPerSec,
		format: thousands,
	},
	{
		label: `burst: delivered events/s ↑`,
		get: (r) => r.burst?.eventsPerSec,
		format: thousands,
	},
	{ label: 'burst: ms until every client has all K ↓', get: (r) => r.burst?.burstMs, format: ms },
	{
		label: 'burst: server CPU per delivered event, µs ↓',
		get: (r) => r.burst?.cpuUsPerDelivery,
		format: (v) => v.toFixed(1),
	},
	{
		label: 'one at a time (latency load): server CPU per delivered event, µs ↓',
		get: (r) => r.latency?.cpuUsPerDelivery,
		format: (v) => v.toFixed(1),
	},
	{ label: 'latency p50, ms ↓', get: (r) => r.latency?.p50, format: ms },
	{ label: 'latency p99, ms ↓', get: (r) => r.latency?.p99, format: ms },
	{ label: 'latency max, ms ↓', get: (r) => r.latency?.max, format: ms },
	{
		label: 'memory per idle connection: RSS, KiB ↓',
		get: (r) => r.connect && r.connect.rssPerConn / KiB,
		format: (v) => v.toFixed(1),
	},
	{
		label: 'memory per idle connection: heap, KiB ↓',
		get: (r) => r.connect && r.connect.heapPerConn / KiB,
		format: (v) => v.toFixed(1),
	},
	{ label: 'time to connect all N, ms ↓', get: (r) => r.connect?.connectMs, format: ms },
	{
		label: 'reconnect storm: ms until all caught up ↓',
		get: (r) => r.storm?.catchUpMs,
		format: ms,
	},
	{
		label: 'reconnect storm: server peak RSS, MiB ↓',
		get: (r) => r.storm && r.storm.peakRss / MiB,
		format: (v) => v.toFixed(0),
	},
	{
		label: 'reconnect storm: server RSS growth during it, MiB ↓',
		get: (r) => r.storm && r.storm.peakRssOverBefore / MiB,
		format: (v) => v.toFixed(0),
	},
	{
		label: 'reconnect storm: clients whose retry: hint is due in the busiest second, % ↓',
		get: (r) => r.storm?.retrySpread && r.storm.retrySpread.busiestSecondShare * 100,
		format: (v) => v.toFixed(0),
	},
	{
		label: 'load client CPU during saturation (1 = a core)',
		get: (r) => r.saturation?.clientCpu,
		format: (v) => v.toFixed(2),
		noRatio: true,
	},
];

const REPLAY_METRICS = [
	{
		label: 'full history to 10 new clients, ms ↓',
		get: (row) => row.fullReplayMs,
		format: ms,
	},
	{
		label: 'full history: delivered events/s ↑',
		get: (row) => row.fullReplayEventsPerSec,
		format: thousands,
	},
	{ label: 'resume 100 back (10 clients), ms ↓', get: (row) => row.resumeMs, format: ms },
	{
		label: 'memory per retained event (heap + buffers), bytes ↓',
		get: (row) => row.memoryPerEvent,
		format: (v) => v.toFixed(0),
	},
];

function thousands(value) {
	if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
	if (value >= 1e3) return `${(value / 1e3).toFixed(0)}k`;
	return value.toFixed(0);
}

function ms(value) {
	return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

function median(values) {
	const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
	if (sorted.length === 0) return undefined;
	const middle = sorted.length / 2;
	return sorted.length % 2 ? sorted[Math.floor(middle)] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One cell: the (median) value and the (median) ratio to raw. */
function cell(metric, values, ratios, isRaw) {
	const value = median(values);
	if (value === undefined) return '–';
	const ratio = median(ratios);
	if (isRaw || metric.noRatio || ratio === undefined) return metric.format(value);
	return `${metric.format(value)} (${ratio.toFixed(2)}×)`;
}

function valuesOf(runs, get) {
	return runs.map((run) => {
		try {
			return get(run);
		} catch {
			return undefined;
		}
	});
}

function ratiosOf(runs, get, getRaw) {
	return runs.map((run) => {
		const value = get(run);
		const raw = getRaw(run);
		return Number.isFinite(value) && Number.isFinite(raw) && raw !== 0 ? value / raw : undefined;
	});
}

function header(runs) {
	const first = runs[0];
	const versions = Object.entries(first.versions ?? {})
		.map(([name, version]) => `${name} ${version}`)
		.join(' · ');
	const w = first.workload;
	const seconds = runs.map((run) => Math.round(run.durationMs / 1000)).join(', ');
	return [
		`Node ${first.node} · ${first.cores} cores (${first.cpu}) · ${(first.memory / 2 ** 30).toFixed(1)} GiB · ${versions}`,
		`Commit ${[...new Set(runs.map((run) => run.commit))].join(', ')} · ${runs.length === 1 ? `run of ${first.date}` : `median of ${runs.length} runs (${runs.map((run) => run.date).join(', ')})`} · took ${seconds} s`,
		...(first.modes ? [`Modes: ${first.modes.join(', ')} · ${bigN(first.bigN)}`] : []),
		...runs.filter((run) => run.stopped).map((run) => `Run of ${run.date} stopped: ${run.stopped}`),
		'',
		workload(w),
	].join('\n');
}

function bigN(big) {
	if (!big?.asked) return 'no big N';
	const reached = big.reached.toLocaleString('en-US');
	return big.reached < big.asked
		? `big N ${reached} of ${big.asked.toLocaleString('en-US')} asked (what \`ulimit -n\` allows a process)`
		: `big N ${reached}`;
}

function workload(w) {
	if (!w.saturation || !w.burst || !w.latency || !w.storm) return `Workload: ${JSON.stringify(w)}`;
	return (
		`Workload: ${w.size}-byte events · saturation: ${w.saturation.publishers} publishers posting one event at a time for ${w.saturation.ms / 1000} s · ` +
		`burst: K = ${w.burst.k} events published in one tick · latency: ${thousands(w.latency.deliveries)} deliveries/s for ${w.latency.ms / 1000} s (${w.latency.deliveries / 1000} events/s at N = 1,000, ${w.latency.deliveries / 10_000} at N = 10,000) · ` +
		`storm: every client reconnects at once, ${w.storm.back} events behind. ↑ higher is better, ↓ lower is better; (×) is the ratio to raw in the same run.`
	);
}

export function renderMarkdown(runOrRuns) {
	const runs = Array.isArray(runOrRuns) ? runOrRuns : [runOrRuns];
	const lines = [header(runs)];
	const sizes = Object.keys(runs[0].results).map(Number);
	lines.push('', ...targets(runs));
	for (const n of sizes) {
		const impls = COLUMNS.filter((name) => runs.some((run) => run.results[n]?.[name]));
		lines.push('', `### N = ${n.toLocaleString('en-US')} connections`, '');
		lines.push(`| | ${impls.join(' | ')} |`, `|---|${impls.map(() => '---:').join('|')}|`);
		for (const metric of METRICS) {
			const cells = impls.map((name) => {
				const get = (run) => {
					const result = run.results[n]?.[name];
					return result && !result.error ? metric.get(result) : undefined;
				};
				const getRaw = (run) => {
					const result = run.results[n]?.raw;
					return result && !result.error ? metric.get(result) : undefined;
				};
				return cell(metric, valuesOf(runs, get), ratiosOf(runs, get, getRaw), name === 'raw');
			});
			if (cells.some((c) => c !== '–')) lines.push(`| ${metric.label} | ${cells.join(' | ')} |`);
		}
		const errors = impls.flatMap((name) =>
			runs
				.map((run) => run.results[n]?.[name]?.error)
				.filter(Boolean)
				.map((e) => `${name}: ${e}`),
		);
		if (errors.length) lines.push('', `Errors: ${errors.join('; ')}`);
	}

	const replayImpls = Object.keys(runs[0].replay ?? {}).filter(
		(name) => !runs[0].replay[name].error,
	);
	if (replayImpls.length > 0) {
		lines.push('', '### Replay cost as retained history grows', '');
		const sizes = runs[0].replay[replayImpls[0]].replay.rows.map((row) => row.retained);
		const columns = replayImpls.flatMap((name) => sizes.map((size) => ({ name, size })));
		lines.push(
			`| | ${columns.map((c) => `${c.name}, ${thousands(c.size)}`).join(' | ')} |`,
			`|---|${columns.map(() => '---:').join('|')}|`,
		);
		for (const metric of REPLAY_METRICS) {
			const cells = columns.map(({ name, size }) => {
				const rowOf = (run, impl) =>
					run.replay?.[impl]?.replay?.rows.find((r) => r.retained === size);
				const get = (run) => {
					const row = rowOf(run, name);
					return row ? metric.get(row) : undefined;
				};
				const getRaw = (run) => {
					const row = rowOf(run, 'raw');
					return row ? metric.get(row) : undefined;
				};
				return cell(metric, valuesOf(runs, get), ratiosOf(runs, get, getRaw), name === 'raw');
			});
			lines.push(`| ${metric.label} | ${cells.join(' | ')} |`);
		}
	}
	lines.push(...sessionCapTable(runs));
	return `${lines.join('\n')}\n`;
}

/** The session-cap phase: M new sessions past maxSessions, with few and with many live. */
function sessionCapTable(runs) {
	const caps = runs.map((run) => run.sessionCap?.sessionCap).filter(Boolean);
	if (caps.length === 0) return [];
	const { maxSessions, m, atFew, atMany } = caps[0];
	const figure = (get) => ms(median(caps.map(get)));
	return [
		'',
		`### Sessions past the cap (${runs[0].sessionCap.name}, maxSessions ${maxSessions}, every session live)`,
		'',
		`| | ${atFew.live.toLocaleString('en-US')} live | ${atMany.live.toLocaleString('en-US')} live | ratio |`,
		'|---|---:|---:|---:|',
		`| ms to open ${m.toLocaleString('en-US')} new sessions ↓ | ${figure((c) => c.atFew.ms)} | ${figure((c) => c.atMany.ms)} | ${median(caps.map((c) => c.ratio)).toFixed(2)}× |`,
	];
}

/**
 * Issue 15's targets, each with its figure from these runs (per run, then the median over runs)
 * and whether it is met. Through the built app where the run has it, else in process.
 */
function targets(runs) {
	const has = (key) => runs.some((run) => Object.values(run.results).some((byImpl) => byImpl[key]));
	const kit = has(builtName('svelte-sse-kit')) ? builtName('svelte-sse-kit') : 'svelte-sse-kit';
	const other = has(builtName('sveltekit-sse')) ? builtName('sveltekit-sse') : 'sveltekit-sse';
	const at = (run, n, key, get) => {
		const result = run.results[n]?.[key];
		return result && !result.error ? get(result) : undefined;
	};
	/** The median over runs of `a`'s figure over `b`'s at N = `n`. */
	const ratio = (n, a, b, get) =>
		median(
			runs.map((run) => {
				const [x, y] = [at(run, n, a, get), at(run, n, b, get)];
				return Number.isFinite(x) && Number.isFinite(y) && y !== 0 ? x / y : undefined;
			}),
		);
	const ns = [1000, 5000, 10000].filter((n) => runs.some((run) => run.results[n]));
	const per = (values, format) =>
		`${values.map((v) => (v === undefined ? '–' : format(v))).join(' / ')} (N = ${ns.map(short).join(' / ')})`;
	const times = (v) => `${v.toFixed(2)}×`;
	const verdict = (values, ok) =>
		values.length === 0 || values.some((v) => v === undefined)
			? 'not measured'
			: values.every(ok)
				? 'met'
				: 'not met';
	const rows = [];
	const row = (target, values, format, ok, figure = per(values, format)) =>
		rows.push(`| ${target} | ${figure} | ${verdict(values, ok)} |`);

	const connect = ns.map((n) => ratio(n, kit, other, (r) => r.connect?.connectMs));
	row(
		`connection setup: ${kit} / ${other}, time to connect all N ≤ 1.2×`,
		connect,
		times,
		(v) => v <= 1.2,
	);

	const storm = (get) => ratio(10000, kit, 'raw', get);
	const stormTime = storm((r) => r.storm?.catchUpMs);
	const stormRss = storm((r) => r.storm?.peakRss);
	const exact = runs.every((run) => {
		const s = at(run, 10000, kit, (r) => r.storm);
		return s?.caughtUp && s.failed === 0 && s.clientsWithWrongCount === 0;
	});
	row(
		`reconnect storm at N = 10k (${kit}): time ≤ 1.5× raw, peak RSS ≤ 1.5× raw, every client exactly its 100`,
		[stormTime, stormRss, exact ? 1 : Number.POSITIVE_INFINITY],
		times,
		(v) => v <= 1.5,
		stormTime === undefined
			? '–'
			: `time ${times(stormTime)}, peak RSS ${times(stormRss)}, every client its 100: ${exact ? 'yes' : 'no'}`,
	);

	// What SvelteKit itself costs per request, beside the storm's target: the same time to connect
	// 10k, for the Kit app that does the least per stream.
	const floor = ratio(10000, other, 'raw', (r) => r.connect?.connectMs);
	if (floor !== undefined && other !== kit) {
		rows.push(
			`| context: ${other} / raw, time to connect 10k (what SvelteKit's request handling costs by itself) | ${times(floor)} | – |`,
		);
	}

	const replaySizes = runs[0].replay?.raw?.replay?.rows.map((r) => r.retained) ?? [];
	const retained = replaySizes.map((size) =>
		median(
			runs.map((run) => {
				const row = (name) => run.replay?.[name]?.replay?.rows.find((r) => r.retained === size);
				const [x, y] = [row('svelte-sse-kit')?.memoryPerEvent, row('raw')?.memoryPerEvent];
				return Number.isFinite(x) && Number.isFinite(y) && y > 0 ? x / y : undefined;
			}),
		),
	);
	row(
		'memory per retained event (svelte-sse-kit in process) ≤ 1.5× raw',
		retained,
		times,
		(v) => v <= 1.5,
		replaySizes.length === 0
			? '–'
			: `${retained.map((v) => (v === undefined ? '–' : times(v))).join(' / ')} (${replaySizes.map(short).join(' / ')} retained)`,
	);

	const heap = ns.map((n) =>
		median(runs.map((run) => at(run, n, kit, (r) => r.connect && r.connect.heapPerConn / KiB))),
	);
	row(
		`idle heap per stream (${kit}) ≤ 15 KiB`,
		heap,
		(v) => `${v.toFixed(1)} KiB`,
		(v) => v <= 15,
	);

	const caps = runs.map((run) => run.sessionCap?.sessionCap).filter(Boolean);
	const capRatio = median(caps.map((c) => c.ratio));
	row(
		'sessions past maxSessions, all live: M new with 10k live ≤ 1.5× with few live (flat)',
		[capRatio],
		times,
		(v) => v <= 1.5,
		capRatio === undefined
			? '–'
			: `${times(capRatio)} (${caps[0].m} new: ${ms(median(caps.map((c) => c.atFew.ms)))} ms with ${short(caps[0].atFew.live)} live, ${ms(median(caps.map((c) => c.atMany.ms)))} ms with ${short(caps[0].atMany.live)})`,
	);

	const burst = ns.map((n) => ratio(n, kit, 'raw', (r) => r.burst?.eventsPerSec));
	row(`keep: burst of 50 (${kit}), delivered events/s ≥ 0.9× raw`, burst, times, (v) => v >= 0.9);
	const p99ns = [1000, 10000].filter((n) => ns.includes(n));
	const p99 = p99ns.map((n) => ratio(n, kit, 'better-sse', (r) => r.latency?.p99));
	row(
		`keep: latency p99 (${kit}) ≤ better-sse's`,
		p99,
		times,
		(v) => v <= 1,
		`${p99.map((v) => (v === undefined ? '–' : times(v))).join(' / ')} of better-sse's (N = ${p99ns.map(short).join(' / ')})`,
	);
	const cpu = ns.map((n) => ratio(n, kit, 'better-sse', (r) => r.latency?.cpuUsPerDelivery));
	row(
		`keep: server CPU per delivery, one at a time (${kit}) ≤ better-sse's`,
		cpu,
		times,
		(v) => v <= 1,
		`${per(cpu, times)} of better-sse's`,
	);
	const figures = runs.length === 1 ? 'this run' : `median of ${runs.length} runs`;
	return ['### Issue 15 targets', '', `| target | ${figures} | |`, '|---|---|---|', ...rows];
}

function short(n) {
	return n >= 1000 ? `${n / 1000}k` : String(n);
}

// As a script: the medians of the runs given.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
	const files = process.argv.slice(2).filter((arg) => arg.endsWith('.json'));
	if (files.length === 0) {
		console.error(
			'usage: node bench/report.mjs bench/results/<run>.json [more runs…] [--out file.md]',
		);
		process.exit(2);
	}
	const runs = files.map((file) => JSON.parse(readFileSync(file, 'utf8')));
	const markdown = renderMarkdown(runs);
	const out = process.argv.indexOf('--out');
	if (out > 0) writeFileSync(process.argv[out + 1], markdown);
	console.log(markdown);
}
