// HubCounters: what one hub has done since it was created, in this process, for `hub.stats()`
// and the OpenTelemetry metrics. Plain number fields, bumped in place: the fan-out counts every
// delivery, and an increment there must cost no more than an add (no allocation, no call).
import type { SSEHubErrorCode } from '../errors.js';
import type { SSEGapReason } from '../replay/index.js';

/** Counts by code, only the codes that happened. */
export type CountsByCode = Partial<Record<SSEHubErrorCode, number>>;

export class HubCounters {
	readonly startedAt = Date.now();
	/** Events this process stored by `publish` (an idempotent repeat not counted). */
	published = 0;
	/** Events written to streams: live and from history, once per stream. */
	delivered = 0;
	/** Of `delivered`, those written from history (a new stream's replay, a catch-up). */
	replayed = 0;
	/** `sse:gap` notices sent, by reason. */
	readonly gaps: Record<SSEGapReason, number> = { expired: 0, epoch: 0, malformed: 0 };
	/** Streams dropped because their client left too much unread. */
	slowConsumers = 0;
	/** Stream requests (GET) refused, by code. */
	readonly refused: CountsByCode = {};
	/** `publish` calls refused, by code. */
	readonly publishRefused: CountsByCode = {};
	streamsOpened = 0;
	streamsClosed = 0;

	/** A copy, for `hub.stats()`. */
	snapshot() {
		return {
			startedAt: this.startedAt,
			published: this.published,
			delivered: this.delivered,
			replayed: this.replayed,
			gaps: { ...this.gaps },
			slowConsumers: this.slowConsumers,
			refused: { ...this.refused },
			publishRefused: { ...this.publishRefused },
			streamsOpened: this.streamsOpened,
			streamsClosed: this.streamsClosed,
		};
	}

	gap(reason: SSEGapReason): void {
		this.gaps[reason]++;
	}

	static count(counts: CountsByCode, code: SSEHubErrorCode): void {
		counts[code] = (counts[code] ?? 0) + 1;
	}
}
