#!/usr/bin/env bash
# fuzz.sh [TARGET[,TARGET...]|all] [SECONDS]: a fuzzing campaign on all cores.
# For each target (default: all, 1200 s each): libFuzzer in fork mode with one
# worker per core from a scratch corpus plus the seeds; then the scratch
# corpus is merged into fuzz/corpus/TARGET, minimised (-merge=1); every crash,
# leak, timeout or OOM input is kept as tests/data/regress/TARGET/<kind>-<sha1>,
# which the replay_TARGET ctest replays from then on. Prints one Markdown row
# per target for fuzz/README.md: executions, coverage, corpus size, findings.
# FUZZ_PARALLEL=N runs N targets at once, the cores shared between them (on 2
# cores, 2 targets of 1 worker each halve the wall time of `all`); FUZZ_NICE
# sets the workers' nice level (default 0) so a campaign can yield to other work.
set -uo pipefail
cd "$(dirname "$0")/.."
want=${1:-all} secs=${2:-1200}
par=${FUZZ_PARALLEL:-1}
nicelvl=${FUZZ_NICE:-0}
jobs=$(($(nproc) / par))
[ "$jobs" -ge 1 ] || jobs=1
scripts/deps.sh test || exit 1
cmake --preset fuzz >/dev/null && cmake --build --preset fuzz || exit 1
targets=()
for f in fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	t=${t#fuzz_}
	[ "$want" = all ] || [[ ",$want," == *",$t,"* ]] && targets+=("$t")
done
[ ${#targets[@]} -gt 0 ] || { echo "fuzz.sh: no target '$want'" >&2; exit 2; }
run_target() {
	local t=$1
	local bin=build/fuzz/fuzz/fuzz_$t work=work/fuzz/$t
	rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts" "fuzz/corpus/$t"
	local before after execs cov ft cpu found=0
	before=$(find "fuzz/corpus/$t" -type f | wc -l)
	local dict=()
	[ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
	echo "== fuzz.sh: $t for ${secs}s on $jobs worker(s)"
	ASAN_OPTIONS=detect_leaks=1 /usr/bin/time -f '%U %S' -o "$work/cpu" nice -n "$nicelvl" \
		"$bin" -fork="$jobs" -ignore_crashes=1 -ignore_timeouts=1 \
		-ignore_ooms=1 -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/artifacts/" \
		"$work/corpus" "fuzz/corpus/$t" >"$work/log" 2>&1
	# fork mode's status lines: "#N: cov: C ft: F corp: K exec/s: E oom/timeout/crash: ..."
	local last
	last=$(grep -E '^#[0-9]+: cov:' "$work/log" | tail -1)
	execs=$(echo "$last" | sed -nE 's/^#([0-9]+):.*/\1/p')
	cov=$(echo "$last" | sed -nE 's/.* cov: ([0-9]+).*/\1/p')
	ft=$(echo "$last" | sed -nE 's/.* ft: ([0-9]+).*/\1/p')
	# CPU seconds the workers got (user + system): what the campaign cost.
	cpu=$(awk '{ printf "%d", $1 + $2 }' "$work/cpu" 2>/dev/null)
	# Minimise seeds + new inputs into a fresh set, then replace the seeds.
	rm -rf "$work/merged" && mkdir -p "$work/merged"
	"$bin" -merge=1 "${dict[@]}" "$work/merged" "fuzz/corpus/$t" "$work/corpus" >>"$work/log" 2>&1
	if [ "$(find "$work/merged" -type f | wc -l)" -gt 0 ]; then
		# The named regression seeds (regress-*) stay: the minimised set may
		# cover their edges with another input, but they record past bugs.
		find "fuzz/corpus/$t" -maxdepth 1 -type f ! -name 'regress-*' -delete
		cp "$work/merged"/* "fuzz/corpus/$t"/
	fi
	after=$(find "fuzz/corpus/$t" -type f | wc -l)
	for a in "$work"/artifacts/crash-* "$work"/artifacts/leak-* "$work"/artifacts/timeout-* \
		"$work"/artifacts/oom-*; do
		[ -f "$a" ] || continue
		mkdir -p "tests/data/regress/$t"
		cp "$a" "tests/data/regress/$t/$(basename "$a")"
		found=$((found + 1))
	done
	echo "| $t | $secs | ${cpu:-?} | ${execs:-?} | ${cov:-?} | ${ft:-?} | $before -> $after | $found |" >"$work/row"
}

running=0
for t in "${targets[@]}"; do
	if [ "$par" -le 1 ]; then
		run_target "$t"
		continue
	fi
	if [ "$running" -ge "$par" ]; then
		wait -n
		running=$((running - 1))
	fi
	run_target "$t" &
	running=$((running + 1))
done
wait
echo
echo "| target | seconds | CPU s | executions | cov (edges) | features | seed corpus | findings kept |"
echo "|---|---:|---:|---:|---:|---:|---|---:|"
for t in "${targets[@]}"; do cat "work/fuzz/$t/row" 2>/dev/null || echo "| $t | $secs | failed |"; done
