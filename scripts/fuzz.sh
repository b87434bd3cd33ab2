#!/usr/bin/env bash
# fuzz.sh [TARGET|all] [SECONDS]: a fuzzing campaign on all cores.
# For each target (default: all, 1200 s each): libFuzzer in fork mode with one
# worker per core from a scratch corpus plus the seeds; then the scratch
# corpus is merged into fuzz/corpus/TARGET, minimised (-merge=1); every crash,
# leak, timeout or OOM input is kept as tests/data/regress/TARGET/<kind>-<sha1>,
# which the replay_TARGET ctest replays from then on. Prints one Markdown row
# per target for fuzz/README.md: executions, coverage, corpus size, findings.
set -uo pipefail
cd "$(dirname "$0")/.."
want=${1:-all} secs=${2:-1200}
jobs=$(nproc)
scripts/deps.sh test || exit 1
cmake --preset fuzz >/dev/null && cmake --build --preset fuzz || exit 1
targets=()
for f in fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	[ "$want" = all ] || [ "$want" = "$t" ] && targets+=("$t")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no target '$want'" >&2; exit 2; }
rows=()
for t in "${targets[@]}"; do
	bin=build/fuzz/fuzz/fuzz_$t
	work=work/fuzz/$t
	mkdir -p "$work/corpus" "$work/artifacts" "fuzz/corpus/$t"
	before=$(find "fuzz/corpus/$t" -type f | wc -l)
	dict=(); [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
	echo "== fuzz.sh: $t for ${secs}s on $jobs workers"
	ASAN_OPTIONS=detect_leaks=1 "$bin" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 \
		-ignore_ooms=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/artifacts/" \
		"$work/corpus" "fuzz/corpus/$t" >"$work/log" 2>&1
	# fork mode's status lines: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: ..."
	last=$(grep -E '^#[0-9]+: cov:' "$work/log" | tail -1)
	execs=$(echo "$last" | sed -nE 's/^#([0-9]+):.*/\1/p')
	cov=$(echo "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
	ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
	# Minimise seeds + new inputs into a fresh set, then replace the seeds.
	rm -rf "$work/merged" && mkdir -p "$work/merged"
	"$bin" -merge=1 "${dict[@]}" "$work/merged" "fuzz/corpus/$t" "$work/corpus" >>"$work/log" 2>&1
	if [ "$(find "$work/merged" -type f | wc -l)" -gt 0 ]; then
		rm -f "fuzz/corpus/$t"/*
		cp "$work/merged"/* "fuzz/corpus/$t"/
	fi
	after=$(find "fuzz/corpus/$t" -type f | wc -l)
	found=0
	for a in "$work"/artifacts/crash-* "$work"/artifacts/leak-* "$work"/artifacts/timeout-* \
		"$work"/artifacts/oom-*; do
		[ -f "$a" ] || continue
		mkdir -p "tests/data/regress/$t"
		cp "$a" "tests/data/regress/$t/$(basename "$a")"
		found=$((found + 1))
	done
	rows+=("| $t | $secs | ${execs:-?} | ${cov:-?} | ${ft:-?} | $before -> $after | $found |")
done
echo
echo "| target | seconds | executions | cov (edges) | features | seed corpus | findings kept |"
echo "|---|---:|---:|---:|---:|---|---:|"
printf '%s\n' "${rows[@]}"
