#!/usr/bin/env bash
# `make test` before and after the workbench issue, side by side on one machine: idle, then with two busy loops
# (`python3 -c "while True: pass"`) beside it. Prints each run's wall time and the new/old ratio (median over the
# interleaved repeats) for both conditions.
#
#   benchmarks/suite_time.sh [OLD_COMMIT] [NEW_REF]       (defaults: 38d7a08, HEAD)
#   REPEATS=3 (interleaved runs per condition), CONDITIONS="idle busy" (either or both), KEEP=/tmp (where a
#   failing run's whole log is copied), ONLY=new (or old: time one tree alone, no ratio)
#
# The old tree runs with coverage measurement added (PYTEST_ADDOPTS="--cov=zoobench --cov-branch"), as the issue
# asks; the new tree's `make test` measures it itself. Both trees are `git archive`d into a temporary folder and use
# one existing virtual environment (VENV, default: this checkout's .venv), with PYTHONPATH at the tree's src so each
# tree runs its own code; `make -o` keeps make from reinstalling anything into that environment.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:-38d7a08}
NEW=${2:-HEAD}
REPEATS=${REPEATS:-3}
CONDITIONS=${CONDITIONS:-idle busy}
VENV=$(cd "${VENV:-.venv}" && pwd -P)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/zoobench-suite-time.XXXXXX")
LOOPS=()
cleanup() {
  for pid in "${LOOPS[@]}"; do kill "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

for which in old new; do
  ref=$OLD; [ "$which" = new ] && ref=$NEW
  mkdir -p "$WORK/$which"
  git archive "$ref" | tar -x -C "$WORK/$which"
  ln -s "$VENV" "$WORK/$which/.venv"
done

# one `make test` of a tree; prints its wall seconds (the log is kept beside the trees while the script runs)
run_tree() {
  local which=$1 cond=$2 rep=$3 extra="" t0 t1 rc=0
  [ "$which" = old ] && extra="--cov=zoobench --cov-branch"
  t0=$(date +%s.%N)
  (cd "$WORK/$which" && PYTHONPATH="$WORK/$which/src" PYTEST_ADDOPTS="$extra" \
     make -o "$VENV/.stamp-test" VENV="$VENV" test) >"$WORK/$which-$cond-$rep.log" 2>&1 || rc=$?
  t1=$(date +%s.%N)
  if [ "$rc" != 0 ]; then
    echo "  $which ($cond, run $rep) FAILED with exit $rc; its log's tail:" >&2
    tail -n 15 "$WORK/$which-$cond-$rep.log" >&2
    mkdir -p "${KEEP:-/tmp}" && cp "$WORK/$which-$cond-$rep.log" "${KEEP:-/tmp}/suite-time-$which-$cond-$rep.log"
    echo "  (the whole log kept as ${KEEP:-/tmp}/suite-time-$which-$cond-$rep.log)" >&2
  elif [ -n "${KEEP_ALL:-}" ]; then  # every run's log (its --durations list says where the time went)
    mkdir -p "${KEEP:-/tmp}" && cp "$WORK/$which-$cond-$rep.log" "${KEEP:-/tmp}/suite-time-$which-$cond-$rep.log"
  fi
  python3 -c "print(f'{$t1 - $t0:.1f}')"
}

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.1f}')" "$@"; }

measure() {
  local cond=$1 old_s=() new_s=() r
  for r in $(seq 1 "$REPEATS"); do  # interleaved: old, new, old, new, ...
    if [ -n "${ONLY:-}" ]; then
      echo "  $cond run $r: $ONLY $(run_tree "$ONLY" "$cond" "$r") s"
      continue
    fi
    old_s+=("$(run_tree old "$cond" "$r")")
    new_s+=("$(run_tree new "$cond" "$r")")
    echo "  $cond run $r: old ${old_s[-1]} s, new ${new_s[-1]} s"
  done
  [ -z "${ONLY:-}" ] || return 0
  local mo mn
  mo=$(median "${old_s[@]}")
  mn=$(median "${new_s[@]}")
  python3 -c "print(f'$cond: old median $mo s (${old_s[*]}), new median $mn s (${new_s[*]}), new/old = {$mn / $mo:.2f}')"
}

echo "suite_time: old=$OLD new=$NEW repeats=$REPEATS; $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
case " $CONDITIONS " in *" idle "*) measure idle ;; esac
case " $CONDITIONS " in *" busy "*)
  python3 -c "while True: pass" & LOOPS+=($!)
  python3 -c "while True: pass" & LOOPS+=($!)
  echo "two busy loops started (pids ${LOOPS[*]})"
  measure busy ;;
esac
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
