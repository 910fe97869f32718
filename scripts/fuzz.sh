#!/usr/bin/env bash
# Runs every Go fuzz target of the repository (func FuzzXxx(f *testing.F)
# in a _test.go file), one after the other, each for the same time, and
# prints a Markdown table of the runs for docs/SECURITY.md:
#
#   scripts/fuzz.sh [-p N] [-run REGEXP] [TIME]
#
#   TIME       how long each target runs, a Go duration (default 30s;
#              docs/SECURITY.md records runs of 10m)
#   -p N       fuzzing workers per target (go test -parallel; default
#              GOMAXPROCS), also FUZZ_PARALLEL
#   -run RE    only the targets whose "package.Target" matches the
#              extended regular expression RE
#
# It stops at the first target that fails: go test has then written the
# failing input to that package's testdata/fuzz/<Target>/, where it stays
# as a regression seed that every "go test ./..." runs. Commit it with the
# fix. The table covers the targets run so far, and the exit status is 1.
#
# Needs PostgreSQL for none of the targets; run from anywhere in the
# repository.
set -euo pipefail

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

parallel=${FUZZ_PARALLEL:-}
filter=
fuzztime=30s
while [ $# -gt 0 ]; do
  case "$1" in
    -p) [ $# -ge 2 ] || usage; parallel=$2; shift 2 ;;
    -run) [ $# -ge 2 ] || usage; filter=$2; shift 2 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) fuzztime=$1; shift ;;
  esac
done
if [ -n "$parallel" ] && ! [[ "$parallel" =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: -p wants a positive integer, got $parallel" >&2
  exit 2
fi

cd "$(git rev-parse --show-toplevel)"
module=$(go list -m)

# Every target as "<dir> <Target>", sorted by package and name.
mapfile -t targets < <(
  grep -rEo --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(f \*testing\.F\)' . |
    sed -E 's|^\./(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*).*|\1 \2|; s|^\./[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*).*|. \1|' |
    sort -u
)
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz targets found" >&2
  exit 1
fi

rows=()
failed=
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for entry in "${targets[@]}"; do
  dir=${entry% *}
  target=${entry#* }
  pkg=${module}/${dir#./}
  [ "$dir" = . ] && pkg=$module
  short=${pkg#"$module"/}
  if [ -n "$filter" ] && ! [[ "$short.$target" =~ $filter ]]; then
    continue
  fi
  echo "fuzz.sh: $short $target for $fuzztime" >&2
  args=(test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime")
  [ -n "$parallel" ] && args+=(-parallel "$parallel")
  start=$(date +%s)
  if go "${args[@]}" "./$dir" >"$log" 2>&1; then
    result=ok
  else
    result=FAIL
  fi
  took=$(( $(date +%s) - start ))
  # The last progress line carries the executions of the whole run.
  execs=$(grep -Eo 'execs: [0-9]+' "$log" | tail -n 1 | grep -Eo '[0-9]+' || true)
  rows+=("| $short | $target | ${took}s | ${execs:-0} | $result |")
  if [ "$result" = FAIL ]; then
    cat "$log" >&2
    failed="$short $target"
    break
  fi
done

echo
echo "| package | target | duration | execs | result |"
echo "| --- | --- | --- | --- | --- |"
printf '%s\n' "${rows[@]}"
if [ -n "$failed" ]; then
  echo >&2
  echo "fuzz.sh: $failed failed; its input is in that package's testdata/fuzz (see above)" >&2
  exit 1
fi
