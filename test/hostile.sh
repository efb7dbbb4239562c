#!/usr/bin/env bash
# The suite in hostile conditions (issue 11): the whole vitest suite
#   1. under Debian's faketime, 400 days ahead of the machine's date, and
#   2. beside `stress-ng --cpu 2` (two busy CPU workers, started and always stopped here).
# No outcome may depend on today's date or on how busy the machine is.
# Usage: npm run test:hostile [-- <vitest file filters>]
# Installs the Debian packages faketime and stress-ng when missing and run as root.
set -u
cd "$(dirname "$0")/.."

need=()
command -v faketime >/dev/null 2>&1 || need+=(faketime)
command -v stress-ng >/dev/null 2>&1 || need+=(stress-ng)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "hostile: installing ${need[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null || { echo "hostile: could not install ${need[*]}" >&2; exit 2; }
  else
    echo "hostile: needs ${need[*]} (Debian: apt-get install -y faketime stress-ng)" >&2
    exit 2
  fi
fi

stress_pid=""
stop_stress() {
  if [ -n "$stress_pid" ] && kill -0 "$stress_pid" 2>/dev/null; then
    kill -TERM "$stress_pid" 2>/dev/null
    wait "$stress_pid" 2>/dev/null
  fi
  stress_pid=""
}
trap stop_stress EXIT
trap 'stop_stress; exit 130' INT TERM

npx tsc -p tsconfig.json --noEmit || { echo "hostile: typecheck failed" >&2; exit 1; }

run() { # name, command...
  local name=$1 start rc
  shift
  echo "hostile: === $name ==="
  start=$(date +%s)
  "$@"
  rc=$?
  results+=("$(printf '%-28s %s  %ss' "$name" "$([ $rc = 0 ] && echo passed || echo "FAILED (exit $rc)")" $(( $(date +%s) - start )))")
  return $rc
}

results=()
failed=0
# faketime moves the clock of every process it starts (node, and PGlite inside it); PostgreSQL keeps its own.
run "faketime +400d" faketime -f '+400d' npx vitest run "$@" || failed=1

stress-ng --cpu 2 --quiet &
stress_pid=$!
run "beside stress-ng --cpu 2" npx vitest run "$@" || failed=1
stop_stress

echo
echo "hostile: summary"
for line in "${results[@]}"; do echo "  $line"; done
[ $failed = 0 ] && echo "hostile: both runs passed" || echo "hostile: FAILED"
exit $failed
