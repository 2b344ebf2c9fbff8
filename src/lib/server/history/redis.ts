/**
 * `redisHistory()`: the `HistoryStore` for several processes behind a load balancer. History, the
 * hub-wide sequence and the epoch live in Redis; every write is one Lua script, so it is atomic
 * and its pub/sub message goes out in `seq` order; every key expires.
 *
 * Key layout under `prefix` (default `sse:`):
 * - `epoch`, `seq`: the store's lifetime name and its counter; created together, gone together.
 * - `t:<topic>`: stream of a topic's broadcast events; `s:<session>`: stream of a session's own
 *   events. Entry ids are `<seq>-0`, so ids increase with `seq` whichever process wrote them.
 * - `drops` (topic → newest `seq` a topic stream dropped), `sd:<session>` (the same per topic of
 *   one session stream), `forgot` (newest `seq` of the topic streams forgotten altogether).
 * - `r:<session>`: hash of subscription records by connection id.
 * - `topics`, `sessions`: sorted sets of the live topic streams and sessions by last activity,
 *   so idle ones are found and forgotten without scanning the keyspace.
 * - `live`: the pub/sub channel every append is published on.
 *
 * Needs Redis ≥ 6.2 on one node (standalone or Sentinel; not Cluster), with a `noeviction`
 * policy: an evicted `epoch` or stream would silently lose history.
 */
import { createHash } from 'node:crypto';
import { createClient, ErrorReply } from 'redis';
import type {
	AppendInput,
	HistoryStats,
	HistoryStore,
	LiveHandlers,
	ReadQuery,
	ReadResult,
	StoredEvent,
	SubscriptionRecord,
} from './store.js';

/** The subscriber connection `subscribe()` makes with `client.duplicate()`. */
export interface RedisSubscriber {
	readonly isReady: boolean;
	connect(): Promise<unknown>;
	subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
	close(): Promise<unknown>;
	destroy(): void;
	on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
}

/** What the store needs of a node-redis (v5 or v6) client, e.g. one from `createClient()`. */
export interface RedisClient {
	readonly isOpen: boolean;
	readonly isReady: boolean;
	eval(script: string, options: { arguments: string[] }): Promise<unknown>;
	evalSha(sha1: string, options: { arguments: string[] }): Promise<unknown>;
	duplicate(): RedisSubscriber;
	on(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
	off(event: 'error' | 'ready', listener: (error?: unknown) => void): unknown;
}

export interface RedisHistoryOptions {
	/**
	 * A node-redis client you created and connected, shared with the rest of your app. The store
	 * leaves it open on `close()`. Its own `keyPrefix` is not applied: use `prefix`.
	 * @default a client of its own, made from `url`
	 */
	client?: RedisClient;
	/**
	 * Where Redis is, when the store makes, connects and closes its own client (one that fails fast
	 * while Redis is down instead of queueing commands).
	 * @default 'redis://127.0.0.1:6379'
	 */
	url?: string;
	/**
	 * Prefix of every key and of the pub/sub channel; processes that share history share it, and
	 * apps that share one Redis use different ones.
	 * @default 'sse:'
	 */
	prefix?: string;
	/**
	 * Events kept per session stream and per topic stream; the oldest goes first.
	 * @default 1000
	 */
	maxLength?: number;
	/**
	 * Events older than this are dropped, however few there are.
	 * @default 300000 (5 minutes)
	 */
	maxAgeMs?: number;
	/**
	 * A session with no activity for this long is forgotten (one with a connection open on this
	 * process is kept alive by it).
	 * @default 1800000 (30 minutes)
	 */
	sessionTtlMs?: number;
	/**
	 * How long a call waits for Redis (to connect or to answer) before it rejects, so a hub answers
	 * 503 promptly instead of hanging.
	 * @default 1000
	 */
	timeoutMs?: number;
	/**
	 * The clock for event times and the age and idle bounds, in ms; injectable for tests. Every
	 * process sharing a prefix must have (roughly) the same clock.
	 * @default Date.now
	 */
	now?: () => number;
}

/** Why a call to the Redis store failed; `code` is what to branch on. */
export type RedisHistoryErrorCode =
	/** No connection to Redis, or it broke, or Redis did not answer within `timeoutMs`. */
	| 'redis_unreachable'
	/** Redis answered with an error (out of memory, say). */
	| 'redis_error'
	/** The store was closed. */
	| 'store_closed';

export class RedisHistoryError extends Error {
	override name = 'RedisHistoryError';
	readonly code: RedisHistoryErrorCode;

	constructor(code: RedisHistoryErrorCode, message: string, options?: ErrorOptions) {
		super(message, options);
		this.code = code;
	}
}

/** Subscription records kept per session beyond the open ones (as `memoryHistory`). */
const MAX_ENDED_RECORDS = 32;

// ARGV[1..6] of every script: prefix, now, maxLength, maxAgeMs, sessionTtlMs, a fresh epoch name
// (used only if the store has none). Keys are derived from the prefix inside the scripts rather
// than passed as KEYS, because which streams a call touches is only known there.
const COMMON = `
local P = ARGV[1]
local now = tonumber(ARGV[2])
local maxLength = tonumber(ARGV[3])
local maxAge = tonumber(ARGV[4])
local sessionTtl = tonumber(ARGV[5])
-- Streams are forgotten by the scripts once idle for maxAge; their TTL is only a backstop. The
-- store-wide keys outlive every other key, so no stream outlives the epoch it was numbered in.
local STREAM_TTL = math.floor(2 * maxAge + 60000)
local SESSION_TTL = math.floor(sessionTtl + 60000)
local GLOBAL_TTL = math.max(STREAM_TTL, SESSION_TTL) + 60000
local EPOCH, SEQ, FORGOT, DROPS = P .. 'epoch', P .. 'seq', P .. 'forgot', P .. 'drops'
local TOPICS, SESSIONS = P .. 'topics', P .. 'sessions'

local function int(n) return string.format('%d', n) end
local function num(v) return tonumber(v or '0') or 0 end
local function seq_of(id) return tonumber(string.match(id, '^%d+')) end
local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
end

local function refresh_globals()
  for _, key in ipairs({ EPOCH, SEQ, FORGOT, DROPS, TOPICS, SESSIONS }) do
    redis.call('PEXPIRE', key, GLOBAL_TTL)
  end
end

local function forget_session(s)
  redis.call('DEL', P .. 's:' .. s, P .. 'sd:' .. s, P .. 'r:' .. s)
  redis.call('ZREM', SESSIONS, s)
end

-- Deletes an idle topic stream, folding the newest seq it ever held into FORGOT: a position
-- older than that may have missed its events, and nothing else remembers them.
local function forget_topic(t)
  local key = P .. 't:' .. t
  local last
  if redis.call('EXISTS', key) == 1 then
    last = num(redis.call('HGET', DROPS, t))
    local top = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
    if top then last = math.max(last, seq_of(top[1])) end
  else
    last = num(redis.call('GET', SEQ))
  end
  if last > num(redis.call('GET', FORGOT)) then redis.call('SET', FORGOT, int(last), 'PX', GLOBAL_TTL) end
  redis.call('DEL', key)
  redis.call('HDEL', DROPS, t)
  redis.call('ZREM', TOPICS, t)
end

-- The epoch and head, making a new epoch when there is none (first use, flush, expiry). A new
-- lifetime numbers from 1 again, so what the old one registered is deleted, not misread.
local function meta()
  local epoch, seq = redis.call('GET', EPOCH), redis.call('GET', SEQ)
  if epoch and seq then return epoch, tonumber(seq) end
  for _, t in ipairs(redis.call('ZRANGE', TOPICS, 0, -1)) do redis.call('DEL', P .. 't:' .. t) end
  for _, s in ipairs(redis.call('ZRANGE', SESSIONS, 0, -1)) do forget_session(s) end
  redis.call('DEL', TOPICS, SESSIONS, DROPS, FORGOT)
  redis.call('SET', EPOCH, ARGV[6], 'PX', GLOBAL_TTL)
  redis.call('SET', SEQ, 0, 'PX', GLOBAL_TTL)
  return ARGV[6], 0
end

local function stale(key, cutoff, limit)
  local max = '(' .. string.format('%.17g', cutoff)
  if limit then return redis.call('ZRANGEBYSCORE', key, '-inf', max, 'LIMIT', 0, limit) end
  return redis.call('ZRANGEBYSCORE', key, '-inf', max)
end

-- Forgets sessions idle past their TTL and topic streams whose newest event is past maxAge.
local function sweep(limit)
  for _, s in ipairs(stale(SESSIONS, now - sessionTtl, limit)) do forget_session(s) end
  for _, t in ipairs(stale(TOPICS, now - maxAge, limit)) do forget_topic(t) end
end

-- Removes the given oldest entries of a stream and records the newest dropped seq: under
-- \`topic\` for a topic stream, per entry topic (field k) for a session stream.
local function drop_front(key, dkey, topic, gone)
  if #gone == 0 then return 0 end
  redis.call('XTRIM', key, 'MINID', int(seq_of(gone[#gone][1]) + 1) .. '-0')
  if topic then
    redis.call('HSET', dkey, topic, seq_of(gone[#gone][1]))
  else
    local newest = {}
    for _, e in ipairs(gone) do newest[field(e, 'k')] = seq_of(e[1]) end
    for t, s in pairs(newest) do redis.call('HSET', dkey, t, s) end
    -- stats() prunes sessions it does not touch: the record must not be born without a TTL.
    redis.call('PEXPIRE', dkey, SESSION_TTL)
  end
  return #gone
end

-- Drops the entries older than maxAge from the front of a stream (entries are in seq order).
local function prune_age(key, dkey, topic)
  local cutoff, gone, from, count = now - maxAge, {}, '-', 1
  while true do
    local batch = redis.call('XRANGE', key, from, '+', 'COUNT', count)
    for _, e in ipairs(batch) do
      if tonumber(field(e, 't')) >= cutoff then return drop_front(key, dkey, topic, gone) end
      gone[#gone + 1] = e
    end
    if #batch < count then return drop_front(key, dkey, topic, gone) end
    from, count = '(' .. batch[#batch][1], 64
  end
end

-- Appends under the id <seq>-0, then drops the oldest entries past maxLength.
local function add(key, dkey, topic, id, fields)
  local added = redis.pcall('XADD', key, id, unpack(fields))
  if type(added) == 'table' and added.err then
    -- Only ids of an earlier lifetime can be as high as a new seq: that stream is stale.
    redis.call('DEL', key)
    redis.call('XADD', key, id, unpack(fields))
  end
  local excess = redis.call('XLEN', key) - maxLength
  if excess > 0 then
    drop_front(key, dkey, topic, redis.call('XRANGE', key, '-', '+', 'COUNT', excess))
  end
end

-- Whether the session is known; one idle past its TTL is forgotten first.
local function session_alive(s)
  local score = redis.call('ZSCORE', SESSIONS, s)
  if not score then return false end
  if tonumber(score) < now - sessionTtl then
    forget_session(s)
    return false
  end
  return true
end

local function touch_session(s)
  redis.call('ZADD', SESSIONS, now, s)
  for _, k in ipairs({ 's:', 'sd:', 'r:' }) do redis.call('PEXPIRE', P .. k .. s, SESSION_TTL) end
end
`;

/** ARGV 7.. : topic, data, session, scoped ('1' or '0'). Returns { epoch, seq }. */
const APPEND = `${COMMON}
local epoch = meta()
sweep(8)
local topic, data = ARGV[7], ARGV[8]
local session = ARGV[10] == '1' and ARGV[9] or nil
local seq = redis.call('INCR', SEQ)
local id = int(seq) .. '-0'
if session then
  local key, dkey = P .. 's:' .. session, P .. 'sd:' .. session
  if session_alive(session) then prune_age(key, dkey, nil) end
  add(key, dkey, nil, id, { 'd', data, 't', ARGV[2], 'k', topic })
  touch_session(session)
else
  local key = P .. 't:' .. topic
  if redis.call('EXISTS', key) == 1 then
    prune_age(key, DROPS, topic)
  else
    -- A stream made anew cannot tell what an older one of its topic held: assume the worst.
    local floor = num(redis.call('GET', FORGOT))
    if redis.call('ZSCORE', TOPICS, topic) then floor = seq - 1 end
    if floor > 0 then redis.call('HSET', DROPS, topic, floor) else redis.call('HDEL', DROPS, topic) end
  end
  add(key, DROPS, topic, id, { 'd', data, 't', ARGV[2] })
  redis.call('PEXPIRE', key, STREAM_TTL)
  redis.call('ZADD', TOPICS, now, topic)
end
refresh_globals()
redis.call('PUBLISH', P .. 'live', '{"seq":' .. int(seq) .. ',"id":' .. cjson.encode(epoch .. '-' .. int(seq))
  .. ',"topic":' .. cjson.encode(topic) .. ',"data":' .. cjson.encode(data)
  .. (session and (',"session":' .. cjson.encode(session)) or '') .. ',"time":' .. ARGV[2] .. '}')
return { epoch, seq }
`;

/**
 * ARGV 7.. : session, limit, then per cursor: topic, 'after' | 'last', value ('inf' / 'all').
 * Returns { epoch, head, expired topics, flat events (seq, topic, data, time, scoped) }.
 */
const READ = `${COMMON}
local epoch, head = meta()
local session, limit = ARGV[7], tonumber(ARGV[8])
local skey, sdkey = P .. 's:' .. session, P .. 'sd:' .. session
local alive = session_alive(session)
if alive then
  prune_age(skey, sdkey, nil)
  touch_session(session)
end
local forgot = num(redis.call('GET', FORGOT))

-- The seq after which the last n events of a topic start, across its stream and the session's.
local function last_start(key, topic, n)
  if n <= 0 then return head end
  local seqs = {}
  for _, e in ipairs(redis.call('XREVRANGE', key, '+', '-', 'COUNT', n)) do seqs[#seqs + 1] = seq_of(e[1]) end
  if alive then
    local found, to = 0, '+'
    while found < n do
      local batch = redis.call('XREVRANGE', skey, to, '-', 'COUNT', 64)
      for _, e in ipairs(batch) do
        if field(e, 'k') == topic then
          seqs[#seqs + 1] = seq_of(e[1])
          found = found + 1
          if found >= n then break end
        end
      end
      if #batch < 64 then break end
      to = '(' .. batch[#batch][1]
    end
  end
  if #seqs == 0 then return head end
  table.sort(seqs, function(a, b) return a > b end)
  return seqs[math.min(n, #seqs)] - 1
end

local starts, order, expired, seen = {}, {}, {}, {}
for i = 9, #ARGV, 3 do
  local topic, kind, value = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  local key = P .. 't:' .. topic
  local exists = redis.call('EXISTS', key) == 1
  if exists then prune_age(key, DROPS, topic) end
  local start
  if kind == 'after' then
    start = value == 'inf' and math.huge or tonumber(value)
    local dropped = forgot
    if exists then dropped = num(redis.call('HGET', DROPS, topic)) end
    if alive then dropped = math.max(dropped, num(redis.call('HGET', sdkey, topic))) end
    if dropped > start and not seen[topic] then
      seen[topic] = true
      expired[#expired + 1] = topic
    end
  elseif value == 'all' then
    start = 0
  else
    start = last_start(key, topic, tonumber(value))
  end
  if starts[topic] == nil then order[#order + 1] = topic end
  starts[topic] = math.min(starts[topic] or start, start)
end

local function from_id(start) return int(math.max(math.floor(start), -1) + 1) .. '-0' end
local events = {}
if limit > 0 then
  local lowest = math.huge
  for _, topic in ipairs(order) do
    local start = starts[topic]
    lowest = math.min(lowest, start)
    if start < head then
      for _, e in ipairs(redis.call('XRANGE', P .. 't:' .. topic, from_id(start), '+', 'COUNT', limit)) do
        events[#events + 1] = { seq_of(e[1]), topic, field(e, 'd'), field(e, 't'), 0 }
      end
    end
  end
  -- The session stream holds all its topics: scan it from the lowest start, keep the wanted.
  if alive and lowest < head then
    local from, found = from_id(lowest), 0
    while found < limit do
      local batch = redis.call('XRANGE', skey, from, '+', 'COUNT', 64)
      for _, e in ipairs(batch) do
        local topic, seq = field(e, 'k'), seq_of(e[1])
        if starts[topic] ~= nil and seq > starts[topic] then
          events[#events + 1] = { seq, topic, field(e, 'd'), field(e, 't'), 1 }
          found = found + 1
          if found >= limit then break end
        end
      end
      if #batch < 64 then break end
      from = '(' .. batch[#batch][1]
    end
  end
end
table.sort(events, function(a, b) return a[1] < b[1] end)
local flat = {}
for i = 1, math.min(limit, #events) do
  for _, v in ipairs(events[i]) do flat[#flat + 1] = v end
end
refresh_globals()
return { epoch, head, expired, flat }
`;

/** ARGV 7.. : session, connection, ended ('1' or '0'), record JSON. */
const SET_SUBSCRIPTION = `${COMMON}
meta()
local session = ARGV[7]
session_alive(session)
local rkey = P .. 'r:' .. session
-- Each record is stored as [order, ended, record]; a replaced record moves to the end.
local order = redis.call('HINCRBY', rkey, 'n', 1)
redis.call('HSET', rkey, 'c:' .. ARGV[8], '[' .. order .. ',' .. ARGV[9] .. ',' .. ARGV[10] .. ']')
if ARGV[9] == '1' then
  local all, ended = redis.call('HGETALL', rkey), {}
  for i = 1, #all, 2 do
    local n = string.match(all[i + 1], '^%[(%d+),1,')
    if n then ended[#ended + 1] = { tonumber(n), all[i] } end
  end
  if #ended > ${MAX_ENDED_RECORDS} then
    table.sort(ended, function(a, b) return a[1] < b[1] end)
    for i = 1, #ended - ${MAX_ENDED_RECORDS} do redis.call('HDEL', rkey, ended[i][2]) end
  end
end
touch_session(session)
refresh_globals()
return 1
`;

/** ARGV 7: session. Returns the stored record values, or nil for an unknown session. */
const SUBSCRIPTIONS = `${COMMON}
meta()
local session = ARGV[7]
if not session_alive(session) then return nil end
touch_session(session)
refresh_globals()
local all, values = redis.call('HGETALL', P .. 'r:' .. session), {}
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'c:' then values[#values + 1] = all[i + 1] end
end
return values
`;

/** ARGV 7..: sessions with a connection open on the calling process. */
const HEARTBEAT = `${COMMON}
meta()
for i = 7, #ARGV do
  if session_alive(ARGV[i]) then touch_session(ARGV[i]) end
end
refresh_globals()
return 1
`;

const META = `${COMMON}
local epoch, head = meta()
refresh_globals()
return { epoch, head }
`;

/** Counts over everything live: O(live topics + sessions). Returns { epoch, head, sessions, events }. */
const STATS = `${COMMON}
local epoch, head = meta()
sweep(nil)
local events = 0
for _, t in ipairs(redis.call('ZRANGE', TOPICS, 0, -1)) do
  local key = P .. 't:' .. t
  prune_age(key, DROPS, t)
  events = events + redis.call('XLEN', key)
end
for _, s in ipairs(redis.call('ZRANGE', SESSIONS, 0, -1)) do
  local key = P .. 's:' .. s
  prune_age(key, P .. 'sd:' .. s, nil)
  events = events + redis.call('XLEN', key)
end
refresh_globals()
return { epoch, head, redis.call('ZCARD', SESSIONS), events }
`;

class Script {
	readonly sha: string;
	constructor(readonly source: string) {
		this.sha = createHash('sha1').update(source).digest('hex');
	}
}

const scripts = {
	append: new Script(APPEND),
	read: new Script(READ),
	setSubscription: new Script(SET_SUBSCRIPTION),
	subscriptions: new Script(SUBSCRIPTIONS),
	heartbeat: new Script(HEARTBEAT),
	meta: new Script(META),
	stats: new Script(STATS),
};

/** A name for a new lifetime: base-36 time plus randomness, as the wire grammar allows. */
function newEpoch(): string {
	const random = crypto.getRandomValues(new Uint32Array(1))[0] as number;
	return `${Date.now().toString(36)}${random.toString(36)}`;
}

/** The URL without credentials, for error messages. */
function describeUrl(url: string): string {
	try {
		const parsed = new URL(url);
		parsed.username = '';
		parsed.password = '';
		return parsed.toString().replace(/\/$/, '');
	} catch {
		return 'the configured URL';
	}
}

const text = (value: unknown): string => (typeof value === 'string' ? value : String(value));

/** Cursor values as the read script takes them; odd numbers behave as in `memoryHistory`. */
function afterArg(after: number): string {
	if (after === Number.NEGATIVE_INFINITY) return '-1';
	return Number.isFinite(after) ? String(after) : 'inf';
}
function countArg(count: number): number {
	return Number.isNaN(count) ? 0 : Math.min(Math.max(Math.ceil(count), 0), 1_000_000);
}

/**
 * History in Redis, shared by every process that uses the same Redis and `prefix`: one `seq`,
 * one epoch (kept in Redis, so a restart of the app keeps it and a flushed Redis gets a new one),
 * and a live feed over pub/sub. Same semantics and bounds as `memoryHistory`.
 *
 * ```ts
 * import { redisHistory } from 'svelte-sse-kit/server/redis';
 * const hub = createSSEHub({ topics, history: redisHistory({ url: env.REDIS_URL }) });
 * ```
 */
export function redisHistory(options: RedisHistoryOptions = {}): HistoryStore {
	const maxLength = options.maxLength ?? 1000;
	const maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
	const sessionTtlMs = options.sessionTtlMs ?? 30 * 60_000;
	const timeoutMs = options.timeoutMs ?? 1000;
	const prefix = options.prefix ?? 'sse:';
	const now = options.now ?? Date.now;
	for (const [name, value] of Object.entries({ maxAgeMs, sessionTtlMs, timeoutMs })) {
		if (!(value > 0 && Number.isFinite(value)))
			throw new RangeError(`redisHistory: ${name} must be a positive number of ms, got ${value}.`);
	}
	if (!(Number.isSafeInteger(maxLength) && maxLength > 0))
		throw new RangeError(`redisHistory: maxLength must be a positive integer, got ${maxLength}.`);
	if (typeof prefix !== 'string' || prefix === '')
		throw new RangeError('redisHistory: prefix must be a non-empty string, such as "sse:".');
	if (options.client && options.url !== undefined)
		throw new RangeError('redisHistory: pass either `client` or `url`, not both.');

	const url = options.url ?? 'redis://127.0.0.1:6379';
	const own = options.client
		? undefined
		: createClient({
				url,
				// Fail fast while disconnected instead of queueing: a hub must answer 503, not hang.
				disableOfflineQueue: true,
				socket: {
					connectTimeout: timeoutMs,
					reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 1000),
				},
			});
	const owned = own !== undefined;
	const client: RedisClient = options.client ?? (own as RedisClient);
	const target = owned ? describeUrl(url) : 'the given client';

	let lastError: unknown;
	const onError = (error?: unknown) => {
		lastError = error;
	};
	const onReady = () => {
		lastError = undefined;
	};
	client.on('error', onError);
	client.on('ready', onReady);
	let connecting: Promise<unknown> | undefined;
	let waiting: Promise<void> | undefined;
	let closed = false;

	const unreachable = (cause: unknown) =>
		new RedisHistoryError(
			'redis_unreachable',
			`Redis is unreachable at ${target}: ${cause instanceof Error ? cause.message || cause.name : String(cause)}. Check that it runs and that this process can reach it.`,
			{ cause },
		);

	/** Resolves once connected; rejects at once while Redis is known down, else after timeoutMs. */
	async function ready(): Promise<void> {
		if (closed) throw new RedisHistoryError('store_closed', 'This Redis history store is closed.');
		if (client.isReady) return;
		if (owned && !connecting) {
			connecting = own?.connect();
			connecting?.catch(() => {}); // it only rejects when closed; errors arrive as events
		} else if (!client.isOpen) {
			throw unreachable(new Error('the client is not connected; call client.connect() first'));
		} else if (lastError !== undefined) {
			throw unreachable(lastError);
		}
		// One wait for every call that arrives while connecting, not one pair of listeners each.
		waiting ??= new Promise<void>((resolve, reject) => {
			const done = (error?: unknown) => {
				clearTimeout(timer);
				client.off('ready', done);
				client.off('error', fail);
				waiting = undefined;
				if (error === undefined) resolve();
				else reject(unreachable(error));
			};
			const fail = (error?: unknown) => done(error ?? new Error('connection failed'));
			const timer = setTimeout(() => {
				// Known down from now on (until 'ready'): later calls need not wait again.
				lastError = new Error(`no connection within ${timeoutMs} ms`);
				fail(lastError);
			}, timeoutMs);
			client.on('ready', done);
			client.on('error', fail);
		});
		await waiting;
	}

	/** Runs a script (by SHA, loading it on first use) with the common arguments first. */
	async function run(script: Script, args: string[], time = now()): Promise<unknown> {
		if (!Number.isFinite(time)) throw new RangeError(`redisHistory: now() returned ${time}.`);
		await ready();
		const argv = [
			prefix,
			String(time),
			String(maxLength),
			String(maxAgeMs),
			String(sessionTtlMs),
			newEpoch(),
			...args,
		];
		const call = async () => {
			try {
				return await client.evalSha(script.sha, { arguments: argv });
			} catch (error) {
				if (!(error instanceof Error && error.message.startsWith('NOSCRIPT'))) throw error;
				return client.eval(script.source, { arguments: argv });
			}
		};
		let timer: ReturnType<typeof setTimeout> | undefined;
		const pending = call();
		try {
			return await Promise.race([
				pending,
				new Promise<never>((_, reject) => {
					// The script may still run later, but whole or not at all: nothing is half-written.
					timer = setTimeout(reject, timeoutMs, new Error(`no answer within ${timeoutMs} ms`));
				}),
			]);
		} catch (error) {
			pending.catch(() => {}); // a late failure after the timeout has nobody to tell
			// An error reply is Redis speaking; anything else is the connection failing.
			if (error instanceof ErrorReply) {
				throw new RedisHistoryError('redis_error', `Redis refused the call: ${error.message}`, {
					cause: error,
				});
			}
			throw unreachable(error);
		} finally {
			clearTimeout(timer);
		}
	}

	// Sessions with a connection open on this process stay alive while it runs (memoryHistory
	// keeps open sessions forever; here a crashed process's open records age out instead).
	const openHere = new Map<string, Set<string>>();
	let heartbeat: ReturnType<typeof setInterval> | undefined;
	function trackOpen(session: string, record: SubscriptionRecord): void {
		const open = openHere.get(session) ?? new Set<string>();
		if (record.to === null) open.add(record.connection);
		else open.delete(record.connection);
		if (open.size > 0) openHere.set(session, open);
		else openHere.delete(session);
		if (openHere.size > 0 && !heartbeat) {
			heartbeat = setInterval(
				() => {
					if (openHere.size > 0) run(scripts.heartbeat, [...openHere.keys()]).catch(() => {});
				},
				Math.max(10, sessionTtlMs / 3),
			);
			heartbeat.unref?.();
		} else if (openHere.size === 0 && heartbeat) {
			clearInterval(heartbeat);
			heartbeat = undefined;
		}
	}

	// One subscriber connection per store, however many listen.
	const listeners = new Set<LiveHandlers>();
	let subscriber: Promise<RedisSubscriber> | undefined;

	async function openSubscriber(): Promise<RedisSubscriber> {
		await ready();
		const sub = client.duplicate();
		let interrupted = false;
		sub.on('error', () => {
			interrupted = true;
		});
		// node-redis resubscribes before it reports 'ready', so nothing after this point is missed.
		sub.on('ready', () => {
			if (!interrupted) return;
			interrupted = false;
			for (const handlers of listeners) handlers.onResync();
		});
		const onMessage = (message: string) => {
			let event: StoredEvent;
			try {
				event = JSON.parse(text(message)) as StoredEvent;
			} catch {
				return; // not ours: someone else published on the channel
			}
			for (const handlers of listeners) handlers.onEvent(event);
		};
		let timer: ReturnType<typeof setTimeout> | undefined;
		try {
			await Promise.race([
				(async () => {
					await sub.connect();
					await sub.subscribe(`${prefix}live`, onMessage);
				})(),
				new Promise<never>((_, reject) => {
					timer = setTimeout(
						reject,
						timeoutMs,
						new Error(`no subscription within ${timeoutMs} ms`),
					);
				}),
			]);
		} catch (error) {
			sub.destroy();
			throw unreachable(error);
		} finally {
			clearTimeout(timer);
		}
		return sub;
	}

	async function closeSubscriber(): Promise<void> {
		const pending = subscriber;
		subscriber = undefined;
		const sub = await pending?.catch(() => undefined);
		if (!sub) return;
		if (sub.isReady) await sub.close().catch(() => sub.destroy());
		else sub.destroy();
	}

	let closing: Promise<void> | undefined;

	return {
		async epoch() {
			const [epoch] = (await run(scripts.meta, [])) as [unknown, unknown];
			return text(epoch);
		},

		async head() {
			const [, head] = (await run(scripts.meta, [])) as [unknown, unknown];
			return Number(head);
		},

		async append({ topic, data, session }: AppendInput): Promise<StoredEvent> {
			const time = now();
			const scoped = session !== undefined;
			const [epoch, seq] = (await run(
				scripts.append,
				[topic, data, session ?? '', scoped ? '1' : '0'],
				time,
			)) as [unknown, unknown];
			const event: StoredEvent = {
				seq: Number(seq),
				id: `${text(epoch)}-${Number(seq)}`,
				topic,
				data,
				time,
			};
			if (scoped) event.session = session;
			return event;
		},

		async read({ session, cursors, limit }: ReadQuery): Promise<ReadResult> {
			const args = [session, String(countArg(limit))];
			for (const cursor of cursors) {
				if ('after' in cursor) args.push(cursor.topic, 'after', afterArg(cursor.after));
				else if (cursor.last === Number.POSITIVE_INFINITY) args.push(cursor.topic, 'last', 'all');
				else args.push(cursor.topic, 'last', String(countArg(cursor.last)));
			}
			const [epoch, , expired, flat] = (await run(scripts.read, args)) as [
				unknown,
				unknown,
				unknown[],
				unknown[],
			];
			const events: StoredEvent[] = [];
			for (let i = 0; i + 4 < flat.length; i += 5) {
				const seq = Number(flat[i]);
				const event: StoredEvent = {
					seq,
					id: `${text(epoch)}-${seq}`,
					topic: text(flat[i + 1]),
					data: text(flat[i + 2]),
					time: Number(text(flat[i + 3])),
				};
				if (Number(flat[i + 4]) === 1) event.session = session;
				events.push(event);
			}
			return { events, expired: expired.map(text) };
		},

		async setSubscription(session: string, record: SubscriptionRecord) {
			const json = JSON.stringify({
				connection: record.connection,
				topics: record.topics,
				from: record.from,
				to: record.to,
			});
			await run(scripts.setSubscription, [
				session,
				record.connection,
				record.to === null ? '0' : '1',
				json,
			]);
			trackOpen(session, record);
		},

		async subscriptions(session: string) {
			const values = (await run(scripts.subscriptions, [session])) as unknown[] | null;
			if (values === null || values === undefined) return null;
			return values
				.map((value) => JSON.parse(text(value)) as [number, number, SubscriptionRecord])
				.sort((a, b) => a[0] - b[0])
				.map(([, , record]) => record);
		},

		async stats(): Promise<HistoryStats> {
			const [epoch, head, sessions, events] = (await run(scripts.stats, [])) as unknown[];
			return {
				epoch: text(epoch),
				head: Number(head),
				sessions: Number(sessions),
				events: Number(events),
			};
		},

		async subscribe(handlers: LiveHandlers) {
			await ready(); // even when the feed is already open: a caller must learn Redis is down
			listeners.add(handlers);
			subscriber ??= openSubscriber();
			try {
				await subscriber;
			} catch (error) {
				listeners.delete(handlers);
				subscriber = undefined;
				throw error;
			}
			let stopped = false;
			return async () => {
				if (stopped) return;
				stopped = true;
				listeners.delete(handlers);
				if (listeners.size === 0) await closeSubscriber();
			};
		},

		close() {
			closing ??= (async () => {
				closed = true;
				if (heartbeat) clearInterval(heartbeat);
				heartbeat = undefined;
				openHere.clear();
				listeners.clear();
				await closeSubscriber();
				if (!own) {
					client.off('error', onError);
					client.off('ready', onReady);
					return;
				}
				// Our listeners stay: a client emits 'error' with no listener as a crash.
				// An owned client that never connected or is reconnecting has nothing to flush.
				if (own.isReady) await own.close().catch(() => own.destroy());
				else if (own.isOpen) own.destroy();
				await connecting?.catch(() => {});
			})();
			return closing;
		},
	};
}
