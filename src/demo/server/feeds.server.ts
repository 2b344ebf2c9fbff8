// The demo's background feeds: notifications and logs for everyone.
import type { DemoTopics } from '../topics.js';
import { updateOnline } from './broadcast.server.js';
import { config } from './config.server.js';
import { hub } from './hub.server.js';

const NOTIFICATIONS: DemoTopics['notifications'][] = [
	{ title: 'Deploy finished', body: 'Version 1.4.2 is live on all regions.', level: 'success' },
	{ title: 'New sign-up', body: 'Someone joined from the meetup.', level: 'info' },
	{ title: 'Disk at 81 %', body: 'The build cache is growing; prune soon.', level: 'warning' },
	{ title: 'Invoice paid', body: 'ACME Corp settled invoice #2231.', level: 'success' },
	{ title: 'Comment', body: 'Ana replied to your review.', level: 'info' },
];

const LOGS: DemoTopics['logs'][] = [
	{ level: 'info', source: 'http', message: 'GET /api/events 200 (stream)' },
	{ level: 'debug', source: 'hub', message: 'replayed 3 events to a reconnecting client' },
	{ level: 'info', source: 'jobs', message: 'thumbnail job done in 182 ms' },
	{ level: 'warn', source: 'db', message: 'slow query (412 ms) on orders_by_day' },
	{ level: 'info', source: 'http', message: 'POST /api/story 200' },
	{ level: 'error', source: 'mailer', message: 'SMTP timeout, retrying in 30 s' },
];

/** Cycles through `list`, one item per call. */
function cycle<T>(list: T[]): () => T {
	let next = 0;
	return () => list[next++ % list.length] as T;
}

// Publishing fails only while the hub is closing; a demo feed has nothing to do about it.
const ignore = () => {};

/** The background feeds everyone sees. Timers are unref'd: they never hold the process open. */
export function startFeeds(): void {
	const notification = cycle(NOTIFICATIONS);
	const log = cycle(LOGS);
	setInterval(() => {
		hub.publish('notifications', notification()).catch(ignore);
	}, config.notifyEveryMs).unref();
	setInterval(() => {
		hub.publish('logs', log()).catch(ignore);
		updateOnline().catch(ignore);
	}, config.logEveryMs).unref();
}
