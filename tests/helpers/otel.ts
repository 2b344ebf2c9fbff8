// The OpenTelemetry SDK registered globally with in-memory exporters, as an app's
// `instrumentation.server.ts` would register its own: what a hub records can be read back.
import { metrics, trace } from '@opentelemetry/api';
import {
	AggregationTemporality,
	InMemoryMetricExporter,
	MeterProvider,
	PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
	BasicTracerProvider,
	InMemorySpanExporter,
	type ReadableSpan,
	SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

export interface Observation {
	value: number;
	attributes: Record<string, unknown>;
}

export function registerOtel() {
	const spans = new InMemorySpanExporter();
	trace.setGlobalTracerProvider(
		new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
	);
	const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
	// Exported only when asked (`collect`): a long interval, never reached by a test.
	const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 });
	metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

	return {
		/** Ended spans named `name`. */
		spans(name: string): ReadableSpan[] {
			return spans.getFinishedSpans().filter((span) => span.name === name);
		},
		/** Collects the metrics now: each metric's data points by name. */
		async collect(): Promise<Map<string, Observation[]>> {
			exporter.reset();
			await reader.forceFlush();
			const byName = new Map<string, Observation[]>();
			for (const resource of exporter.getMetrics()) {
				for (const scope of resource.scopeMetrics) {
					for (const metric of scope.metrics) {
						const points = metric.dataPoints.map((point) => ({
							value: point.value as number,
							attributes: { ...point.attributes },
						}));
						byName.set(metric.descriptor.name, points);
					}
				}
			}
			return byName;
		},
		reset() {
			spans.reset();
		},
	};
}

/** The value of `name`'s data point with these attributes (0 if none). */
export function metricValue(
	collected: Map<string, Observation[]>,
	name: string,
	attributes: Record<string, unknown> = {},
): number {
	const points = collected.get(name) ?? [];
	const point = points.find((p) =>
		Object.entries(attributes).every(([key, value]) => p.attributes[key] === value),
	);
	return point?.value ?? 0;
}
