#!/usr/bin/env bash
# scripts/wine-stop kills exactly the Wine processes of its prefix, however
# the prefix is named. Stand-ins play the processes: copies of sleep named
# like Wine's binaries (the check goes by the executable's file name and
# the WINEPREFIX in the environment), so no Wine is needed.
# Regressions: a relative prefix path matched nothing, and since
# wine64-preloader is installed every Wine process runs
# wine64-preloader.static, which the pattern missed.
#   test_wine_stop.sh WINE_STOP
set -u
wine_stop=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
tmp=$(mktemp -d)
pids=()
trap 'kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT
mkdir -p "$tmp/pfx" "$tmp/other" "$tmp/bin"
for name in wine64-preloader.static wine64 wineserver64 not-wine; do
  cp "$(command -v sleep)" "$tmp/bin/$name"
done
fail=0

# start VAR NAME PREFIX: a stand-in running as NAME with WINEPREFIX=PREFIX;
# its pid in VAR. (Not through $(...): the stand-in would hold its output
# open and the substitution would wait for it.)
start() {
  WINEPREFIX=$3 setsid "$tmp/bin/$2" 600 </dev/null >/dev/null 2>&1 &
  pids+=($!)
  # Not this shell's job any more: its death is the point, not news.
  disown $!
  printf -v "$1" '%s' "$!"
}

alive() { kill -0 "$1" 2>/dev/null; }

expect() {
  local what=$1 pid=$2 want=$3
  if { [ "$want" = dead ] && alive "$pid"; } || { [ "$want" = alive ] && ! alive "$pid"; }; then
    echo "FAIL: $what should be $want"
    fail=1
  else
    echo "ok   $what is $want"
  fi
}

for how in relative absolute; do
  start preloader wine64-preloader.static "$tmp/pfx"
  start loader wine64 "$tmp/pfx"
  start server wineserver64 "$tmp/pfx"
  start other wine64-preloader.static "$tmp/other"
  start shell not-wine "$tmp/pfx"
  sleep 0.2
  if [ "$how" = relative ]; then
    (cd "$tmp" && "$wine_stop" pfx)
  else
    "$wine_stop" "$tmp/pfx"
  fi
  sleep 0.2
  expect "($how) a process running the preloader" "$preloader" dead
  expect "($how) a process running wine64" "$loader" dead
  expect "($how) the wineserver" "$server" dead
  expect "($how) a Wine process of another prefix" "$other" alive
  expect "($how) a program that is not Wine's, with the prefix in its environment" "$shell" alive
  kill -9 "$other" "$shell" 2>/dev/null
done
exit "$fail"
