#!/usr/bin/env bash
# 64 sign-ins, 16 at a time, against a fresh Roster; prints its peak and final resident memory.
# Usage: bash docs/bench-signins.sh ./target/release/roster
set -eu
BIN=$1
rm -rf /tmp/mem; ROSTER_LOG=warn $BIN --data-dir /tmp/mem serve --bind 127.0.0.1:18090 > /tmp/mem.out 2>&1 &
PID=$!; sleep 3; PW=$(grep password: /tmp/mem.out | awk '{print $2}')
pids=()
for i in $(seq 1 64); do curl -s -o /dev/null localhost:18090/api/v1/auth/login -H 'content-type: application/json' -d "{\"account\":\"default\",\"login\":\"admin\",\"password\":\"$PW\"}" & pids+=($!); if (( i % 16 == 0 )); then wait "${pids[@]}"; pids=(); fi; done
grep -E "VmHWM|VmRSS" /proc/$PID/status
kill $PID
