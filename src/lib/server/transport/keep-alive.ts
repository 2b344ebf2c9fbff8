// Keep-alive comments: one timer per period for all the streams that use it.
import { encodeComment } from '../wire/index.js';

export interface KeepAliveMember {
	/** Writes `comment` to the stream. */
	write(comment: Uint8Array): unknown;
}

interface Group {
	timer: ReturnType<typeof setInterval>;
	members: Set<KeepAliveMember>;
}

// [spec] A line that starts with `:` is a comment: the browser ignores it, a proxy sees traffic.
const COMMENT = new TextEncoder().encode(encodeComment('keep-alive'));
/** Keyed by period in ms. A timer per stream would be ten thousand timers for ten thousand streams. */
const groups = new Map<number, Group>();

/**
 * Sends `member` a `: keep-alive` comment every `periodMs` until `leaveKeepAlive`. The first
 * one may come sooner than a full period after joining: it is a bound on the silence, not a
 * schedule.
 */
export function joinKeepAlive(periodMs: number, member: KeepAliveMember): void {
	let group = groups.get(periodMs);
	if (!group) {
		const members = new Set<KeepAliveMember>();
		const timer = setInterval(() => {
			for (const each of members) each.write(COMMENT);
		}, periodMs);
		// Keep-alives alone must not keep a process (or a test run) alive.
		timer.unref?.();
		group = { timer, members };
		groups.set(periodMs, group);
	}
	group.members.add(member);
}

export function leaveKeepAlive(periodMs: number, member: KeepAliveMember): void {
	const group = groups.get(periodMs);
	if (!group?.members.delete(member) || group.members.size > 0) return;
	clearInterval(group.timer);
	groups.delete(periodMs);
}
