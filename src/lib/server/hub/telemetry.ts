// OpenTelemetry, when the app has it: a span per stream request (its replay's size, its gap, or
// its refusal) and metrics that read the hub's counters. `@opentelemetry/api` is an optional peer:
// it is imported at run time and, when it cannot be, the hub records nothing and works the same.
// SvelteKit's `instrumentation.server.ts` registers the SDK before the app's code runs, so the
// global tracer and meter are the app's by the time a hub is created.
import type * as OTel from '@opentelemetry/api';
import type { SSEHubError } from '../errors.js';
import type { HistoryStats } from '../history/index.js';
import type { ReplayOutcome, ReplayPlan, SSEGapReason } from '../replay/index.js';
import type { CountsByCode, HubCounters } from './counters.js';
import type { TelemetryApi, TelemetryOption } from './types.js';

/** The tracer's and meter's name (the instrumentation scope). */
export const INSTRUMENTATION_NAME = 'svelte-sse-kit';
export const SPAN_STREAM_OPEN = 'sse.stream.open';

/** What the metrics read of one hub. */
export interface MetricSource {
	counters: HubCounters;
	/** Open streams in this process. */
	connections(): number;
	history(): Promise<HistoryStats>;
}

async function loadApi(option: TelemetryOption): Promise<TelemetryApi | null> {
	if (option === false) return null;
	if (option !== true) return option;
	// In a variable, so that bundlers (Vite) leave it to run time: the app may not have it.
	const specifier = '@opentelemetry/api';
	try {
		return (await import(/* @vite-ignore */ specifier)) as TelemetryApi;
	} catch {
		return null;
	}
}

/** One stream request's span, ended once its replay is written, or at its refusal. */
export class StreamSpan {
	readonly #span: OTel.Span;

	constructor(span: OTel.Span) {
		this.#span = span;
	}

	/** The plan is made: what the stream asked for and any gap known before reading. */
	planned(topics: number, resumed: boolean, plan: ReplayPlan): void {
		this.#span.setAttributes({ 'sse.topics.count': topics, 'sse.resumed': resumed });
		if (plan.gap) this.#span.setAttribute('sse.gap.reason', plan.gap.reason);
	}

	/** The replay is written (`null`: the client left before it was). */
	replayed(outcome: ReplayOutcome | null): void {
		const attributes: OTel.Attributes = { 'sse.replay.complete': outcome !== null };
		if (outcome) attributes['sse.replay.events'] = outcome.replayed;
		if (outcome?.gap) attributes['sse.gap.reason'] = outcome.gap;
		this.#span.setAttributes(attributes).end();
	}

	refused(error: SSEHubError): void {
		this.#span.setAttributes({
			'sse.refusal.code': error.code,
			'http.response.status_code': error.status,
		});
		// A 4xx is the client's mistake, not the server's ([OTel HTTP conventions]).
		if (error.status >= 500) this.#span.setStatus({ code: 2 /* SpanStatusCode.ERROR */ });
		this.#span.end();
	}

	failed(error: unknown): void {
		this.#span.recordException(error instanceof Error ? error : String(error));
		this.#span.setStatus({ code: 2 /* SpanStatusCode.ERROR */ }).end();
	}
}

/** A hub's telemetry: loaded once, then a span per stream request and its share of the metrics. */
export class HubTelemetry {
	/** Resolves once `@opentelemetry/api` is loaded or known absent. */
	readonly ready: Promise<void>;
	#loading = true;
	#tracer: OTel.Tracer | undefined;
	#stopReporting: (() => void) | undefined;
	#closed = false;

	constructor(option: TelemetryOption, source: MetricSource) {
		this.ready = loadApi(option).then((api) => {
			this.#loading = false;
			if (!api || this.#closed) return;
			this.#tracer = api.trace.getTracer(INSTRUMENTATION_NAME) as OTel.Tracer;
			this.#stopReporting = report(
				api.metrics.getMeter(INSTRUMENTATION_NAME) as OTel.Meter,
				source,
			);
		});
	}

	/** Whether `ready` is still to be awaited. */
	get loading(): boolean {
		return this.#loading;
	}

	/**
	 * A span for a stream request; none without OpenTelemetry, nor when the span records nothing
	 * (the API without an SDK, or sampled out): what it would be told goes nowhere.
	 */
	streamSpan(): StreamSpan | undefined {
		const span = this.#tracer?.startSpan(SPAN_STREAM_OPEN);
		return span?.isRecording() ? new StreamSpan(span) : undefined;
	}

	/** The hub closed: its counters leave the metrics. */
	close(): void {
		this.#closed = true;
		this.#stopReporting?.();
	}
}

/** The hubs whose counters each meter reports (one set of instruments per meter, summing them). */
const sourcesOf = new WeakMap<OTel.Meter, Set<MetricSource>>();

function report(meter: OTel.Meter, source: MetricSource): () => void {
	let sources = sourcesOf.get(meter);
	if (!sources) {
		sources = new Set();
		sourcesOf.set(meter, sources);
		observe(meter, sources);
	}
	sources.add(source);
	const reported = sources;
	return () => reported.delete(source);
}

/** Adds `counts` into `into`. */
function addCounts(into: Map<string, number>, counts: CountsByCode): void {
	for (const [code, n] of Object.entries(counts)) into.set(code, (into.get(code) ?? 0) + (n ?? 0));
}

/**
 * The metrics, all asynchronous: they read the counters when the SDK collects, so the hub's hot
 * paths never call into OpenTelemetry. Counters are per process (add them up across processes);
 * `sse.hub.sessions` and `sse.hub.history.events` are the history store's, shared by every process
 * on one Redis, so they are gauges (not to be summed).
 */
function observe(meter: OTel.Meter, sources: ReadonlySet<MetricSource>): void {
	const counter = (name: string, unit: string, description: string) =>
		meter.createObservableCounter(name, { unit, description });
	const published = counter('sse.hub.events.published', '{event}', 'Events stored by publish.');
	const delivered = counter(
		'sse.hub.events.delivered',
		'{event}',
		'Events written to streams, live and from history, once per stream.',
	);
	const replayed = counter(
		'sse.hub.events.replayed',
		'{event}',
		'Events written to streams from history (replays and catch-ups).',
	);
	const gaps = counter('sse.hub.gaps', '{gap}', 'sse:gap notices sent, by sse.gap.reason.');
	const slow = counter(
		'sse.hub.slow_consumers',
		'{stream}',
		'Streams dropped because their client left too much unread.',
	);
	const refused = counter(
		'sse.hub.streams.refused',
		'{request}',
		'Stream requests refused, by sse.refusal.code.',
	);
	const publishRefused = counter(
		'sse.hub.publishes.refused',
		'{call}',
		'publish calls refused, by sse.refusal.code.',
	);
	const opened = counter('sse.hub.streams.opened', '{stream}', 'Streams opened.');
	const closed = counter('sse.hub.streams.closed', '{stream}', 'Streams ended.');
	const open = meter.createObservableUpDownCounter('sse.hub.streams.open', {
		unit: '{stream}',
		description: 'Streams open in this process.',
	});
	const sessions = meter.createObservableGauge('sse.hub.sessions', {
		unit: '{session}',
		description: 'Sessions the history store knows.',
	});
	const retained = meter.createObservableGauge('sse.hub.history.events', {
		unit: '{event}',
		description: 'Events the history store retains.',
	});

	meter.addBatchObservableCallback(
		async (result) => {
			const sum = { published: 0, delivered: 0, replayed: 0, slow: 0, opened: 0, closed: 0 };
			const gapCounts: Record<SSEGapReason, number> = { expired: 0, epoch: 0, malformed: 0 };
			const refusedCounts = new Map<string, number>();
			const publishRefusedCounts = new Map<string, number>();
			let connections = 0;
			for (const { counters, connections: count } of sources) {
				sum.published += counters.published;
				sum.delivered += counters.delivered;
				sum.replayed += counters.replayed;
				sum.slow += counters.slowConsumers;
				sum.opened += counters.streamsOpened;
				sum.closed += counters.streamsClosed;
				for (const reason of Object.keys(gapCounts) as SSEGapReason[]) {
					gapCounts[reason] += counters.gaps[reason];
				}
				addCounts(refusedCounts, counters.refused);
				addCounts(publishRefusedCounts, counters.publishRefused);
				connections += count();
			}
			result.observe(published, sum.published);
			result.observe(delivered, sum.delivered);
			result.observe(replayed, sum.replayed);
			result.observe(slow, sum.slow);
			result.observe(opened, sum.opened);
			result.observe(closed, sum.closed);
			result.observe(open, connections);
			for (const [reason, n] of Object.entries(gapCounts)) {
				result.observe(gaps, n, { 'sse.gap.reason': reason });
			}
			for (const [code, n] of refusedCounts)
				result.observe(refused, n, { 'sse.refusal.code': code });
			for (const [code, n] of publishRefusedCounts) {
				result.observe(publishRefused, n, { 'sse.refusal.code': code });
			}
			// The store may be unreachable (Redis down): its gauges are left out of this collection.
			const histories = await Promise.all([...sources].map((s) => s.history().catch(() => null)));
			const known = histories.filter((history) => history !== null);
			if (known.length > 0) {
				result.observe(
					sessions,
					known.reduce((n, history) => n + history.sessions, 0),
				);
				result.observe(
					retained,
					known.reduce((n, history) => n + history.events, 0),
				);
			}
		},
		[
			published,
			delivered,
			replayed,
			gaps,
			slow,
			refused,
			publishRefused,
			opened,
			closed,
			open,
			sessions,
			retained,
		],
	);
}
