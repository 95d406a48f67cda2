package redisstore

import "github.com/redis/go-redis/v9"

// Each script touches the keys of one hash slot only. Times are Unix
// milliseconds from the app's clock; a record is live while its field x is
// greater than the time passed in. Field x is the record's end rounded down
// and the time is rounded down too, so a script never takes an ended record
// for a live one.

// createScript writes a record unless its key exists.
//
// KEYS[1] the record; ARGV[1] its TTL in ms; ARGV[2..] field, value pairs.
// Returns 1 when it wrote the record, 0 when the key was taken.
var createScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then
	return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

// updateScript replaces a live record that has the expected version.
//
// KEYS[1] the record; ARGV[1] the expected version; ARGV[2] the time;
// ARGV[3] the TTL in ms; ARGV[4..] field, value pairs.
// Returns 1 when it replaced the record, 0 when it was gone or changed.
var updateScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], 'v', 'x')
if f[1] ~= ARGV[1] or tonumber(f[2]) <= tonumber(ARGV[2]) then
	return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV, 4))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`)

// What deleteIfScript found.
const (
	foundGone    = 0 // no record: the index entry is stale
	foundLive    = 1 // a live record, now deleted
	foundEnded   = 2 // an ended record Redis had not dropped yet, now deleted
	foundChanged = 3 // a record that no longer carries the value, kept
)

// deleteIfScript deletes a record if it still carries an indexed value.
//
// KEYS[1] the record; ARGV[1] the field (s or d); ARGV[2] the value;
// ARGV[3] the time. Returns one of the found constants.
var deleteIfScript = redis.NewScript(`
local f = redis.call('HMGET', KEYS[1], ARGV[1], 'x')
if not f[1] then
	return 0
end
if f[1] ~= ARGV[2] then
	return 3
end
redis.call('DEL', KEYS[1])
if tonumber(f[2]) > tonumber(ARGV[3]) then
	return 1
end
return 2
`)

// indexScript lists a record in an index, drops the entries whose records
// have ended, and keeps the index as long as its last record.
//
// KEYS[1] the index; ARGV[1] the record's key; ARGV[2] the record's end,
// rounded up; ARGV[3] the time. An entry's score only ever grows (GT), so
// it is never dropped while its record lives.
var indexScript = redis.NewScript(`
redis.call('ZADD', KEYS[1], 'GT', ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
if last[2] then
	redis.call('PEXPIRE', KEYS[1], tonumber(last[2]) - tonumber(ARGV[3]))
end
return 1
`)
