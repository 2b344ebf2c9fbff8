// The Lua scripts of `redisHistory`. Each runs atomically in Redis, so a sequence number, the
// event it names, the trimming and the live publish happen as one step, whatever process calls.
//
// Key layout under `prefix` (default `sse:`):
// - `epoch`, `seq`: the store's lifetime name and its counter; created together, gone together.
//   `run`: the Redis `run_id` the epoch began in (a restart may have loaded an older snapshot).
// - `t:<topic>`: stream of a topic's broadcast events; `s:<session>`: stream of a session's own
//   events. Entry ids are `<seq>-0`, so ids increase with `seq` whichever process wrote them.
// - `drops` (topic → newest `seq` a topic stream dropped), `sd:<session>` (the same per topic of
//   one session stream), `forgot` (newest `seq` of the topic streams forgotten altogether).
// - `snewest` (session → newest `seq` of each topic of its own events), folded into `sforgot`
//   (topic → the same over forgotten sessions) and `sfloor` (over all topics) when a session is
//   forgotten; `r:<session>` notes `sfloor` when the session is made.
// - `r:<session>`: hash of cursor records by connection id.
// - `i:<epoch>:<key>`: the event first appended with an idempotency key, for `maxAgeMs`.
// - `topics`, `sessions`: sorted sets of the live topic streams and sessions by last activity,
//   so idle ones are found and forgotten without scanning the keyspace.
// - `live`: the pub/sub channel every append is published on.
import { createHash } from 'node:crypto';
import { MAX_ENDED_RECORDS } from '../store.js';

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
local SNEWEST, SFORGOT, SFLOOR = P .. 'snewest', P .. 'sforgot', P .. 'sfloor'
local RUN = P .. 'run'

local function int(n) return string.format('%d', n) end
local function num(v) return tonumber(v or '0') or 0 end
local function seq_of(id) return tonumber(string.match(id, '^%d+')) end
local function field(entry, name)
  local f = entry[2]
  for i = 1, #f, 2 do if f[i] == name then return f[i + 1] end end
end

local function refresh_globals()
  for _, key in ipairs({ EPOCH, SEQ, RUN, FORGOT, DROPS, TOPICS, SESSIONS, SNEWEST, SFORGOT, SFLOOR }) do
    redis.call('PEXPIRE', key, GLOBAL_TTL)
  end
end

local function delete_session(s)
  redis.call('DEL', P .. 's:' .. s, P .. 'sd:' .. s, P .. 'r:' .. s)
  redis.call('ZREM', SESSIONS, s)
end

-- A session's own events go with it: the newest seq of each of its topics (kept in SNEWEST, which
-- outlives the session's keys) is folded into SFORGOT, and of all topics into SFLOOR, so that a
-- position older than them still hears of the loss, whether the session comes back or not.
local function forget_session(s)
  local newest = redis.call('HGET', SNEWEST, s)
  if newest then
    local floor = num(redis.call('GET', SFLOOR))
    for t, seq in pairs(cjson.decode(newest)) do
      if seq > num(redis.call('HGET', SFORGOT, t)) then redis.call('HSET', SFORGOT, t, int(seq)) end
      floor = math.max(floor, seq)
    end
    redis.call('PEXPIRE', SFORGOT, GLOBAL_TTL)
    redis.call('SET', SFLOOR, int(floor), 'PX', GLOBAL_TTL)
    redis.call('HDEL', SNEWEST, s)
  end
  delete_session(s)
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

-- This run of Redis (a new one at every restart), or nil where INFO is not to be had.
local function run_id()
  local ok, info = pcall(redis.call, 'INFO', 'server')
  if not ok or type(info) ~= 'string' then return nil end
  return string.match(info, 'run_id:(%w+)')
end

-- Starts a lifetime named ARGV[6]. It numbers from 1 again, so what the old one registered is
-- deleted, not misread; it notes the run of Redis it began in (see went_back).
local function new_lifetime()
  for _, t in ipairs(redis.call('ZRANGE', TOPICS, 0, -1)) do redis.call('DEL', P .. 't:' .. t) end
  for _, s in ipairs(redis.call('ZRANGE', SESSIONS, 0, -1)) do delete_session(s) end
  redis.call('DEL', TOPICS, SESSIONS, DROPS, FORGOT, SNEWEST, SFORGOT, SFLOOR, RUN)
  redis.call('SET', EPOCH, ARGV[6], 'PX', GLOBAL_TTL)
  redis.call('SET', SEQ, 0, 'PX', GLOBAL_TTL)
  local run = run_id()
  if run then redis.call('SET', RUN, run, 'PX', GLOBAL_TTL) end
  return ARGV[6], 0
end

-- The epoch and head, making a new epoch when there is none (first use, flush, expiry).
local function meta()
  local epoch, seq = redis.call('GET', EPOCH), redis.call('GET', SEQ)
  if epoch and seq then return epoch, tonumber(seq) end
  return new_lifetime()
end

-- Whether the sequence went back, or may have, so that ids would be handed out again: the head is
-- below a seq a process has seen in this epoch (known_epoch, known_seq), or Redis restarted since
-- the epoch began (a snapshot older than the head may have been loaded), unless \`keep\` says its
-- persistence loses nothing.
local function went_back(keep, known_epoch, known_seq)
  local epoch, seq = meta()
  if epoch == known_epoch and seq < known_seq then return true end
  if keep then return false end
  local run = run_id()
  return run ~= nil and redis.call('GET', RUN) ~= run
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

-- Whether the session has a connection open (on a process that may since have died).
local function is_open(s)
  for _, v in ipairs(redis.call('HVALS', P .. 'r:' .. s)) do
    if string.match(v, '^%[%d+,0,') then return true end
  end
  return false
end

-- Makes room for one more session past maxSessions: forgets the longest-idle one that is not open,
-- as memoryHistory does. Open ones met on the way move to the recent end, so the next scan starts
-- past them; one whose process missed two heartbeats (it crashed) counts as idle. When the
-- sixteen idlest are all open, the cap yields to them.
local function make_room(maxSessions)
  if redis.call('ZCARD', SESSIONS) < maxSessions then return end
  local beating = now - 2 * math.max(10, sessionTtl / 3)
  local front = redis.call('ZRANGE', SESSIONS, 0, 15, 'WITHSCORES')
  for i = 1, #front, 2 do
    local s = front[i]
    if tonumber(front[i + 1]) < beating or not is_open(s) then
      forget_session(s)
      return
    end
    touch_session(s)
  end
end

-- A session made now (first use, or again after it was forgotten) remembers how far forgotten
-- sessions' events reached: an earlier session of the same id may have lost events up to there.
local function create_session(s, maxSessions)
  make_room(maxSessions)
  local floor = num(redis.call('GET', SFLOOR))
  if floor > 0 then redis.call('HSET', P .. 'r:' .. s, 'f', int(floor)) end
end

-- Notes the newest seq of each topic of a session's own events, for forget_session.
local function note_own(s, topic, seq)
  local known = redis.call('HGET', SNEWEST, s)
  local newest = known and cjson.decode(known) or {}
  newest[topic] = seq
  redis.call('HSET', SNEWEST, s, cjson.encode(newest))
end
`;

/**
 * ARGV 7.. : topic, data, session, scoped ('1' or '0'), maxSessions, then for went_back: keep the
 * epoch across restarts ('1' or '0'), the epoch and the highest seq the caller has seen in it;
 * then the idempotency key ('' for none). Returns { epoch, seq }, or for a key already used
 * { epoch, 0, the first event as JSON }.
 */
const APPEND = `${COMMON}
local epoch = meta()
if went_back(ARGV[12] == '1', ARGV[13], tonumber(ARGV[14])) then epoch = new_lifetime() end
-- A key names one event of this lifetime: one of an older lifetime is never looked at again.
local ikey = ARGV[15] ~= '' and (P .. 'i:' .. epoch .. ':' .. ARGV[15]) or nil
if ikey then
  local first = redis.call('GET', ikey)
  -- Its TTL is a backstop: the age bound is the caller's clock, as for events.
  if first and cjson.decode(first).time >= now - maxAge then
    refresh_globals()
    return { epoch, 0, first }
  end
end
sweep(8)
local topic, data = ARGV[7], ARGV[8]
local session = ARGV[10] == '1' and ARGV[9] or nil
local seq = redis.call('INCR', SEQ)
local id = int(seq) .. '-0'
if session then
  local key, dkey = P .. 's:' .. session, P .. 'sd:' .. session
  if session_alive(session) then prune_age(key, dkey, nil) else create_session(session, tonumber(ARGV[11])) end
  add(key, dkey, nil, id, { 'd', data, 't', ARGV[2], 'k', topic })
  note_own(session, topic, seq)
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
local event = '{"seq":' .. int(seq) .. ',"id":' .. cjson.encode(epoch .. '-' .. int(seq))
  .. ',"topic":' .. cjson.encode(topic) .. ',"data":' .. cjson.encode(data)
  .. (session and (',"session":' .. cjson.encode(session)) or '') .. ',"time":' .. ARGV[2] .. '}'
if ikey then redis.call('SET', ikey, event, 'PX', maxAge) end
redis.call('PUBLISH', P .. 'live', event)
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
-- How far an earlier session of this id may have lost events (see create_session).
local floor = math.huge
if alive then
  prune_age(skey, sdkey, nil)
  touch_session(session)
  floor = num(redis.call('HGET', P .. 'r:' .. session, 'f'))
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
    dropped = math.max(dropped, math.min(floor, num(redis.call('HGET', SFORGOT, topic))))
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

/** ARGV 7.. : session, connection, ended ('1' or '0'), record JSON, maxSessions. */
const SET_CURSOR_RECORD = `${COMMON}
meta()
local session = ARGV[7]
if not session_alive(session) then create_session(session, tonumber(ARGV[11])) end
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
const CURSOR_RECORDS = `${COMMON}
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

/** ARGV 7: an epoch whose ids the live feed saw twice; it is ended if it is still the current one. */
const RETIRE = `${COMMON}
local epoch, head = meta()
if epoch == ARGV[7] then epoch, head = new_lifetime() end
refresh_globals()
return { epoch, head }
`;

/** ARGV 7.. : for went_back (see APPEND). Returns { epoch, head }. */
const META = `${COMMON}
local epoch, head = meta()
if went_back(ARGV[7] == '1', ARGV[8], tonumber(ARGV[9])) then epoch, head = new_lifetime() end
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

export class Script {
	readonly sha: string;
	constructor(readonly source: string) {
		this.sha = createHash('sha1').update(source).digest('hex');
	}
}

export const scripts = {
	append: new Script(APPEND),
	read: new Script(READ),
	setCursorRecord: new Script(SET_CURSOR_RECORD),
	cursorRecords: new Script(CURSOR_RECORDS),
	heartbeat: new Script(HEARTBEAT),
	meta: new Script(META),
	retire: new Script(RETIRE),
	stats: new Script(STATS),
};
