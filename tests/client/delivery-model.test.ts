// "Exactly once, or told", by construction: random sequences of publishes (broadcast and per
// session), server-side drops, clients closed and reopened, topic changes, two tabs of one session
// with different topics, fresh clients dropped before their first event, clock jumps past the
// retention and session bounds, store restarts and (with Redis) Redis faults, driven through the
// real hub and the real SSEClient over real HTTP and checked against a model (delivery-model.ts).
//
// Every sequence comes from a seed. A failure prints it with the operations and what the failing
// client owed and delivered. `SSE_MODEL_SEED=<n>` replays one sequence (add `-t memory` or
// `-t redis`); `SSE_MODEL_RUNS=<n>` runs n memory sequences and n/3 Redis ones;
// `SSE_MODEL_BASE=<n>` fixes the seeds of a whole run (they are random otherwise);
// `SSE_MODEL_TRACE=1` lists every delivery and status change among the operations;
// `SSE_MODEL_SPEC_IDS=1` makes the `eventsource` package honour id-only frames (as browsers do).
import type { ChildProcess } from 'node:child_process';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { NewTopicHistory } from '../../src/lib/server/index.js';
import type { ModelEvent } from '../helpers/delivery-model.js';
import {
	bounded,
	type Retention,
	type Tab,
	TOPICS,
	type Topic,
	World,
} from '../helpers/delivery-world.js';
import {
	type AdminClient,
	cleanUp,
	connectAdmin,
	freePort,
	REDIS_URL,
	startRedis,
	stopRedis,
} from '../helpers/redis-server.js';
import { type Random, seededRandom } from '../helpers/seeded-random.js';

const RUNS = Number(process.env.SSE_MODEL_RUNS ?? 150);
const REPLAY = process.env.SSE_MODEL_SEED;
const BASE = Number(process.env.SSE_MODEL_BASE ?? (Math.random() * 2 ** 32) >>> 0);
const TRACE = process.env.SSE_MODEL_TRACE === '1';
const SPEC_IDS = process.env.SSE_MODEL_SPEC_IDS === '1';
const MAX_TABS = 6;

/** One sequence's own bound, under Vitest's, so that a hang still prints its report. */
const SEQUENCE_MS = 20_000;

/** The seeds of `count` sequences, distinct per suite; just the replayed one if given. */
function seeds(count: number, suite: number): number[] {
	if (REPLAY) return [Number(REPLAY)];
	const start = BASE + suite * 0x7f4a7c15;
	return Array.from({ length: count }, (_, i) => (start + i * 0x9e3779b9) >>> 0);
}

type RedisFaults = 'none' | 'kills' | 'restart';

interface Scenario {
	policy: NewTopicHistory;
	retention: Retention;
	generous: boolean;
	clockJumps: boolean;
	restarts: boolean;
	faults: RedisFaults;
	steps: number;
}

function scenario(random: Random, redis: boolean): Scenario {
	const generous = random.chance(0.5);
	return {
		policy: random.pick<NewTopicHistory>(['all', 'none', 1, 2]),
		retention: {
			maxLength: generous ? 1000 : random.int(1, 3),
			maxAgeMs: 60_000,
			sessionTtlMs: 120_000,
		},
		generous,
		clockJumps: random.chance(0.3),
		restarts: random.chance(0.25),
		faults: redis
			? random.weighted<RedisFaults>([
					['none', 4],
					['kills', 5],
					['restart', 1],
				])
			: 'none',
		steps: random.int(15, 40),
	};
}

/** The private redis-server the fault sequences kill connections of (and restart). */
interface PrivateRedis {
	port: number;
	url: string;
	child: ChildProcess;
	admin: AdminClient;
}

async function connectPrivate(port: number): Promise<AdminClient> {
	const admin = createClient({
		url: `redis://127.0.0.1:${port}`,
		socket: { reconnectStrategy: false },
	});
	admin.on('error', () => {});
	await admin.connect();
	return admin;
}

interface Faults {
	/** Kills the store's connections of one type; the admin client is spared. */
	kill(type: 'pubsub' | 'normal'): Promise<number>;
	restart?(): Promise<void>;
}

type Op = ReturnType<typeof chooseOp>;

/** The next operation, chosen from what the model knows (never from timing), so a seed replays. */
function chooseOp(world: World, random: Random, plan: Scenario, faults: Faults | undefined) {
	const { tabs } = world;
	const open = tabs.filter((tab) => tab.open);
	const closed = tabs.filter((tab) => !tab.open);
	const growable = tabs.filter((tab) => tab.client.topics.length < TOPICS.length);
	const shrinkable = tabs.filter((tab) => tab.client.topics.length > 1);
	const room = tabs.length < MAX_TABS ? 1 : 0;
	const op = random.weighted([
		['broadcast', 8],
		['session', 4],
		['disconnect', 3],
		['close', open.length > 0 ? 1.5 : 0],
		['reopen', closed.length > 0 ? 2 : 0],
		['add', growable.length > 0 ? 2 : 0],
		['remove', shrinkable.length > 0 ? 1.5 : 0],
		['tab', room],
		['snapshot-tab', room],
		['fresh-drop', room],
		['settle', 1.5],
		['age', plan.clockJumps ? 0.7 : 0],
		['idle', plan.clockJumps ? 0.7 : 0],
		['away', plan.clockJumps ? 0.7 : 0],
		['restart', plan.restarts ? 0.4 : 0],
		['kill-pubsub', faults ? 1 : 0],
		['kill-normal', faults ? 1 : 0],
		['redis-restart', faults?.restart ? 0.4 : 0],
	] as const);
	return { op, open, closed, growable, shrinkable };
}

async function perform(
	world: World,
	random: Random,
	plan: Scenario,
	faults: Faults | undefined,
	{ op, open, closed, growable, shrinkable }: Op,
): Promise<void> {
	const { sessions } = world;
	switch (op) {
		case 'broadcast':
			await world.publish(random.pick(TOPICS), null);
			return;
		case 'session':
			await world.publish(random.pick(TOPICS), random.pick(sessions));
			return;
		case 'disconnect': {
			const session = random.pick(sessions);
			world.note(`hub.disconnect(${session.name}) cut ${world.hub.disconnect(session.id)}`);
			return;
		}
		case 'close':
			return world.close(random.pick(open));
		case 'reopen':
			return world.reopen(random.pick(closed));
		case 'add': {
			const tab = random.pick(growable);
			const missing = TOPICS.filter((topic) => !tab.client.topics.includes(topic));
			return world.updateTopics(tab, { add: [random.pick(missing)] });
		}
		case 'remove': {
			const tab = random.pick(shrinkable);
			return world.updateTopics(tab, { remove: [random.pick(tab.client.topics)] });
		}
		case 'tab':
			await world.newTab(random.pick(sessions), random.subset(TOPICS));
			return;
		case 'snapshot-tab':
			// A page rendered from hub.snapshot, its client started from the snapshot's position.
			await world.newTab(random.pick(sessions), random.subset(TOPICS), true);
			return;
		case 'fresh-drop': {
			// A brand-new client dropped before it received any event, and an event for it published
			// while it reconnects.
			const session = random.pick(sessions);
			const tab = await world.newTab(session, random.subset(TOPICS));
			world.note(`hub.disconnect(${session.name}) cut ${world.hub.disconnect(session.id)}`);
			await world.publish(random.pick(tab.client.topics), null);
			return;
		}
		case 'settle':
			world.note('settle');
			return world.settle();
		case 'age':
		case 'idle': {
			const { maxAgeMs, sessionTtlMs } = plan.retention;
			world.offset += (op === 'age' ? maxAgeMs : sessionTtlMs) + 1;
			world.note(`clock +${op === 'age' ? 'maxAgeMs' : 'sessionTtlMs'}`);
			return;
		}
		case 'away': {
			// A laptop closed for longer than the session lives: every tab of a session closed while
			// an event for it is published, the clock moved past sessionTtlMs (and so past maxAgeMs),
			// one more event, then the tabs come back with their positions.
			const session = random.pick(sessions);
			const gone = world.tabs.filter((tab) => tab.session === session && tab.open);
			for (const tab of gone) world.close(tab);
			await world.publish(random.pick(TOPICS), random.chance(0.5) ? session : null);
			world.offset += plan.retention.sessionTtlMs + 1;
			world.note('clock +sessionTtlMs');
			await world.publish(random.pick(TOPICS), null);
			for (const tab of gone) world.reopen(tab);
			return;
		}
		case 'restart':
			world.note('hub and store restart');
			return world.restartHub();
		case 'kill-pubsub':
		case 'kill-normal': {
			const type = op === 'kill-pubsub' ? 'pubsub' : 'normal';
			world.note(`CLIENT KILL TYPE ${type}: ${await faults?.kill(type)}`);
			return;
		}
		case 'redis-restart':
			world.note('redis-server restart');
			await faults?.restart?.();
			return world.registerEpoch();
	}
}

interface Outcome {
	jumped: boolean;
	restarted: boolean;
}

/** Runs one sequence; throws a report of every broken promise. */
async function runSequence(
	seed: number,
	store: 'memory' | 'redis',
	redis?: { shared: { url: string; admin: () => AdminClient }; private: PrivateRedis },
) {
	const random = seededRandom(seed);
	const plan = scenario(random, store === 'redis');
	const prefix = `sse-model:${seed}:${Math.random().toString(36).slice(2, 8)}:`;
	// The private server's admin client is replaced when that server restarts: look it up late.
	const target =
		redis &&
		(plan.faults === 'none'
			? redis.shared
			: { url: redis.private.url, admin: () => redis.private.admin });
	const world = new World({
		policy: plan.policy,
		retention: plan.retention,
		redis: target && { url: target.url, prefix },
		trace: TRACE,
		specIds: SPEC_IDS,
	});
	const outcome: Outcome = { jumped: false, restarted: false };
	let faults: Faults | undefined;
	if (redis && plan.faults !== 'none') {
		const own = redis.private;
		faults = {
			kill: async (type) =>
				Number(await own.admin.sendCommand(['CLIENT', 'KILL', 'TYPE', type, 'SKIPME', 'yes'])),
			restart:
				plan.faults === 'restart'
					? async () => {
							await stopRedis(own.child);
							own.child = await startRedis(own.port);
							own.admin.destroy();
							own.admin = await connectPrivate(own.port);
						}
					: undefined,
		};
	}
	let failure: unknown;
	try {
		await bounded(SEQUENCE_MS, 'the sequence', async () => {
			await world.start();
			const sessionCount = random.int(1, 3);
			for (let i = 0; i < sessionCount; i++) await world.newSession();
			for (const session of world.sessions) {
				const count = random.int(1, Math.min(3, MAX_TABS - world.tabs.length - 1) || 1);
				for (let i = 0; i < count; i++) await world.newTab(session, random.subset(TOPICS));
			}
			for (let i = 0; i < plan.steps; i++) {
				const next = chooseOp(world, random, plan, faults);
				if (next.op === 'age' || next.op === 'idle' || next.op === 'away') outcome.jumped = true;
				// A Redis-backed hub restarts onto the same history: nothing is lost by it.
				if (next.op === 'redis-restart' || (next.op === 'restart' && store === 'memory')) {
					outcome.restarted = true;
				}
				await perform(world, random, plan, faults, next);
			}
			// The end: everyone back, then one more event per topic that every client must deliver.
			// A client may rightly be told of a gap instead (it was reconnecting into a new epoch when
			// the event came): then another round, after which nothing is in doubt any more.
			for (const tab of world.tabs) if (!tab.open) world.reopen(tab);
			for (let round = 1; ; round++) {
				await world.settle('every client to be ready at the end');
				const last: ModelEvent[] = [];
				for (const topic of TOPICS) last.push(await world.publishSurely(topic));
				const owed = (tab: Tab) => last.filter((e) => tab.client.topics.includes(e.topic as Topic));
				const has = (tab: Tab, e: ModelEvent) => tab.record.deliveries.some((d) => d.key === e.key);
				const told = (tab: Tab, e: ModelEvent) =>
					tab.record.gaps.some((gap) => gap.at > e.at && gap.topics.includes(e.topic));
				await world.until(
					() => world.tabs.every((tab) => owed(tab).every((e) => has(tab, e) || told(tab, e))),
					'every client to deliver the last event of each of its topics',
				);
				if (world.tabs.every((tab) => owed(tab).every((e) => has(tab, e)))) break;
				if (round === 3) throw new Error('told of gaps at the end, three rounds in a row');
			}
		});
	} catch (error) {
		failure = error;
	} finally {
		await bounded(5000, 'the hub, the store and the server to close', () => world.stop()).catch(
			(error: unknown) => {
				failure ??= error;
			},
		);
		if (target) {
			// Every key must expire; a sequence that left one without a TTL is a bug too.
			await cleanUp(target.admin(), prefix).catch((error: unknown) => {
				failure ??= error;
			});
		}
	}
	const lossless = plan.generous && !outcome.jumped && !outcome.restarted;
	const problems: string[] = [];
	if (failure) problems.push(`sequence: ${(failure as Error).message ?? failure}`);
	for (const tab of world.tabs) {
		const found = world.model.check(tab.record, {
			policy: plan.policy,
			lossless,
			windows: lossless && world.model.epochs === 1 && !world.model.uncertain,
			counters: tab.client.topicCounters,
		});
		for (const problem of found)
			problems.push(`${tab.name} (${tab.session.name}, now [${tab.client.topics}]): ${problem}`);
	}
	if (store === 'memory' && world.hubErrors.length > 0) {
		problems.push(`hub onError: ${world.hubErrors.slice(0, 3).map(String).join(' | ')}`);
	}
	if (problems.length === 0) return;
	const { retention } = plan;
	throw new Error(
		[
			`seed ${seed} (${store}): ${problems.length} problem(s). Replay: SSE_MODEL_SEED=${seed} npx vitest run tests/client/delivery-model.test.ts -t ${store}`,
			`scenario: newTopicHistory ${plan.policy}, maxLength ${retention.maxLength}, faults ${plan.faults}, lossless ${lossless}`,
			...problems.map((p) => `  ✗ ${p}`),
			'operations:',
			...world.log.map((line) => `  ${line}`),
		].join('\n'),
	);
}

describe('delivery model: memory history', () => {
	for (const seed of seeds(RUNS, 0)) {
		it(`memory seed ${seed}`, () => runSequence(seed, 'memory'));
	}
});

describe('delivery model: redis history', () => {
	let shared: AdminClient;
	let own: PrivateRedis;
	beforeAll(async () => {
		shared = await connectAdmin();
		const port = await freePort();
		own = {
			port,
			url: `redis://127.0.0.1:${port}`,
			child: await startRedis(port),
			admin: await connectPrivate(port),
		};
	});
	afterAll(async () => {
		await shared?.close();
		own?.admin.destroy();
		if (own) await stopRedis(own.child);
	});
	for (const seed of seeds(Math.ceil(RUNS / 3), 1)) {
		it(`redis seed ${seed}`, () =>
			runSequence(seed, 'redis', {
				shared: { url: REDIS_URL, admin: () => shared },
				private: own,
			}));
	}
});
