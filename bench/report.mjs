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
		'',
		workload(w),
	].join('\n');
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
	const impls = IMPLEMENTATIONS.filter((name) => runs[0].results[sizes[0]]?.[name]);
	for (const n of sizes) {
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
	return `${lines.join('\n')}\n`;
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
