#!/bin/bash
# Instruction counts of one scripting workload under callgrind (docs/performance.md, "Scripting").
# setget: EVALSHA of SET+GET; ret1: EVALSHA of "return 1"; fcall: FCALL of the SET+GET function.
# 100k calls, redis-benchmark -P 16 -c 50, keys key:__rand_int__ (-r 1000). Prints PROGRAM TOTALS.
# usage: cg.sh binary outfile mode(setget|ret1|fcall)
BIN=$1; OUT=$2; MODE=${3:-setget}; PORT=$((20000 + RANDOM % 10000))
D=$(mktemp -d)
valgrind --tool=callgrind --callgrind-out-file=$OUT $BIN --port $PORT --bind 127.0.0.1 --save '' --appendonly no --dir $D >/dev/null 2>&1 &
VP=$!
for i in $(seq 100); do redis-cli -p $PORT ping >/dev/null 2>&1 && break; sleep 0.2; done
case $MODE in
setget) SHA=$(redis-cli -p $PORT script load "redis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])")
  timeout 300 redis-benchmark -p $PORT -n 100000 -P 16 -c 50 -q EVALSHA $SHA 1 key:__rand_int__ val -r 1000 | tail -1 | tr '\r' '\n' | tail -1;;
ret1) SHA=$(redis-cli -p $PORT script load "return 1")
  timeout 300 redis-benchmark -p $PORT -n 100000 -P 16 -c 50 -q EVALSHA $SHA 1 key:__rand_int__ val -r 1000 | tail -1 | tr '\r' '\n' | tail -1;;
fcall) redis-cli -p $PORT function load "#!lua name=bench
redis.register_function('sg', function(keys, argv) redis.call('SET', keys[1], argv[1]) return redis.call('GET', keys[1]) end)" >/dev/null
  timeout 300 redis-benchmark -p $PORT -n 100000 -P 16 -c 50 -q FCALL sg 1 key:__rand_int__ val -r 1000 | tail -1 | tr '\r' '\n' | tail -1;;
esac
redis-cli -p $PORT shutdown nosave >/dev/null 2>&1; sleep 1; kill $VP 2>/dev/null; wait $VP
rm -rf $D
callgrind_annotate $OUT 2>/dev/null | grep -m1 "PROGRAM TOTALS"
