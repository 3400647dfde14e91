#!/usr/bin/env bash
# campaign.sh runs every fuzz target in the tree (every `func Fuzz…` in a
# *_test.go file, the fuzz/ module's and other packages' alike) until it
# has made a given number of executions, one target after the other, and
# writes a summary table. It is the long campaign of issue 24, run by
# hand before a release; CI keeps its 15-second runs (.ci/run).
#
# Usage: fuzz/campaign.sh [-n EXECS] [-t REGEXP] [-j WORKERS] [-c SECONDS]
#                         [-d DEADLINE] [-m MINIMIZE] [-o DIR]
#
#   -n EXECS     executions per target (default 10000000), passed to go
#                test as -fuzztime=EXECSx
#   -t REGEXP    only the targets whose name matches (grep -E; default all)
#   -j WORKERS   fuzzing workers per target, go test -parallel (default 1)
#   -c SECONDS   stop a target after this many seconds even if it has not
#                reached EXECS (default 0: no cap); the table then says
#                "capped" and gives the count reached
#   -d DEADLINE  end by this time (anything `date -d` reads, e.g.
#                "2026-12-08 00:40 UTC"; a time alone is today's): each target's cap is the time left shared equally
#                among the targets still to run (and at most -c if given)
#   -m MINIMIZE  -fuzzminimizetime (default 10s; the seeds of some targets
#                are multi-kilobyte values whose minimization can stall)
#   -o DIR       where the logs and summary.md go (default a new temporary
#                directory)
#
# Run it at low priority on a shared machine, e.g.
#
#   nice -n 19 fuzz/campaign.sh -j 1
#
# Per target the table gives the executions (the fuzzer's own count, from
# its last status line), the wall time (build and baseline coverage
# included), executions per second over the fuzzing time the fuzzer
# reports, the new interesting inputs it added to the corpus in
# $GOCACHE/fuzz (and the corpus total), and the crashers: failing inputs
# Go wrote to <package>/testdata/fuzz/<target>/. Crashers stay there, to
# be committed with the fix (they become regression seeds). The script
# exits 1 if any target crashed or failed, 2 on bad usage.
set -u

execs=10000000
only=.
workers=1
cap=0
deadline=
minimize=10s
out=
while getopts n:t:j:c:d:m:o:h opt; do
  case $opt in
    n) execs=$OPTARG ;;
    t) only=$OPTARG ;;
    j) workers=$OPTARG ;;
    c) cap=$OPTARG ;;
    d) deadline=$(date -d "$OPTARG" +%s) || exit 2 ;;
    m) minimize=$OPTARG ;;
    o) out=$OPTARG ;;
    *) sed -n '2,/^set -u/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 2 ;;
  esac
done
case $execs$workers$cap in *[!0-9]*) echo "campaign.sh: -n, -j and -c take whole numbers" >&2; exit 2 ;; esac
if [ -n "$deadline" ] && [ "$deadline" -le "$(date +%s)" ]; then
  echo "campaign.sh: -d $(date -u -d "@$deadline" +%FT%TZ) is past (give a date: \"2026-12-08 06:00 UTC\")" >&2
  exit 2
fi

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 2
if [ -z "$out" ]; then out=$(mktemp -d "${TMPDIR:-/tmp}/cookieseal-fuzz.XXXXXX"); fi
mkdir -p "$out" || exit 2

# The targets, as "dir target" lines: fuzz/ first, then the rest in path
# order. testdata and vendored trees are not searched.
targets=$(grep -rlE --include='*_test.go' --exclude-dir=testdata --exclude-dir=vendor --exclude-dir=.git '^func Fuzz' . |
  sed 's|^\./||' | sort | awk '{ print (index($0, "fuzz/") == 1 ? 0 : 1) "\t" $0 }' | sort -s -k1,1 | cut -f2- |
  while read -r file; do
    for t in $(grep -oE '^func Fuzz[A-Za-z0-9_]*' "$file" | sed 's/^func //'); do
      printf '%s %s\n' "$(dirname "$file")" "$t"
    done
  done | grep -E " ($only)" || true)
if [ -z "$targets" ]; then echo "campaign.sh: no fuzz target matches $only" >&2; exit 2; fi

count_files() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }

summary=$out/summary.md
{
  echo "# Fuzz campaign $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "$(go version), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
       "$(nproc) CPUs, -parallel $workers, target $execs executions each"
  echo "command: nice -n $(nice) fuzz/campaign.sh -n $execs -t '$only' -j $workers -c $cap${deadline:+ -d $(date -u -d "@$deadline" +%FT%TZ)} -m $minimize"
  echo
  echo "| target | package | execs | wall time | execs/s | new corpus (total) | crashers | result |"
  echo "|---|---|---:|---:|---:|---:|---:|---|"
} >"$summary"

failed=0
left=$(wc -l <<<"$targets")
while read -r dir target; do
  tcap=$cap
  if [ -n "$deadline" ]; then
    share=$(( (deadline - $(date +%s)) / left ))
    if [ "$share" -lt 1 ]; then share=1; fi
    if [ "$tcap" -eq 0 ] || [ "$share" -lt "$tcap" ]; then tcap=$share; fi
  fi
  left=$((left - 1))
  log=$out/$target.log
  corpus=$dir/testdata/fuzz/$target
  before=$(count_files "$corpus")
  echo "== $dir $target: $execs executions$([ "$tcap" -gt 0 ] && echo ", at most ${tcap}s") (log $log)"
  start=$(date +%s)
  # Its own process group, so that a cap can interrupt go test and the
  # fuzzing processes it started alike; an interrupted fuzzer prints its
  # last status and writes no failing input.
  # A new session is a new scheduling autogroup on Linux, where the
  # process's own nice value only ranks it against its own group: the
  # group takes the script's nice value too, or `nice -n 19` would not
  # yield the CPU to other sessions' work (it did not, in issue 24's runs).
  setsid bash -c 'n=$1; shift
    if [ "$n" -gt 0 ] && [ -w /proc/self/autogroup ]; then echo "$n" >/proc/self/autogroup 2>/dev/null; fi
    exec "$@"' autogroup "$(nice)" \
    go test "./$dir" -run '^$' -fuzz "^${target}\$" -fuzztime "${execs}x" \
    -parallel "$workers" -fuzzminimizetime "$minimize" >"$log" 2>&1 &
  pid=$!
  capped=
  if [ "$tcap" -gt 0 ]; then
    while kill -0 "$pid" 2>/dev/null; do
      if [ $(( $(date +%s) - start )) -ge "$tcap" ]; then
        kill -INT -- "-$pid" 2>/dev/null
        capped=yes
        break
      fi
      sleep 5
    done
  fi
  wait "$pid"
  rc=$?
  wall=$(( $(date +%s) - start ))
  after=$(count_files "$corpus")
  crashers=$(( after - before ))

  # The fuzzer's last status line:
  # "fuzz: elapsed: 12s, execs: 345678 (28000/sec), new interesting: 3 (total: 40)"
  last=$(grep -E '^fuzz: elapsed: .*execs: ' "$log" | tail -n 1)
  n=$(sed -nE 's/.*execs: ([0-9]+).*/\1/p' <<<"$last")
  fuzzsecs=$(sed -nE 's/^fuzz: elapsed: ([0-9hms.]+),.*/\1/p' <<<"$last")
  newc=$(sed -nE 's/.*new interesting: ([0-9]+) \(total: ([0-9]+)\).*/\1 (\2)/p' <<<"$last")
  secs=$(awk -v d="$fuzzsecs" 'BEGIN { s = 0; n = split(d, a, /[hms]/);
      if (d ~ /h/) { s = a[1] * 3600 + a[2] * 60 + a[3] } else if (d ~ /m/) { s = a[1] * 60 + a[2] } else { s = a[1] } print s + 0 }')
  rate=$(awk -v n="${n:-0}" -v s="$secs" 'BEGIN { if (s > 0) printf "%d", n / s; else print "-" }')

  if [ "$crashers" -gt 0 ]; then
    result="CRASH: $corpus"
    failed=1
  elif [ -n "$capped" ]; then
    result="capped at ${tcap}s"
  elif [ "$rc" -eq 0 ]; then
    result=ok
  elif grep -q '^    context deadline exceeded$' "$log" && [ "$(grep -c -- '--- FAIL' "$log")" = 1 ]; then
    # go.dev/issue/75804 (Go 1.26): the coordinator can end on a bare
    # deadline error while a worker is mid-call; no input failed.
    result="ok (go.dev/issue/75804 at the end)"
  else
    result="FAILED (exit $rc, see log)"
    failed=1
  fi
  if [ -z "$capped" ] && [ "$result" = ok ] && [ "${n:-0}" -lt "$execs" ]; then
    result="ok, but the last status shows ${n:-0} < $execs"
  fi
  printf '| %s | %s | %s | %dm%02ds | %s | %s | %s | %s |\n' "$target" "$dir" "${n:-?}" $((wall / 60)) $((wall % 60)) \
    "$rate" "${newc:-?}" "$crashers" "$result" >>"$summary"
  tail -n 3 "$log"
  tail -n 1 "$summary"
done <<<"$targets"

echo
cat "$summary"
echo "summary: $summary"
exit "$failed"
