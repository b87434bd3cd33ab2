#!/usr/bin/env bash
# test.sh: installs what is missing, then runs the whole test suite:
#   1. gcc ASan+UBSan build, all of ctest (unit, CLI, corpus replay, install)
#   2. clang libFuzzer build, every target for MC_FUZZ_SECONDS from its seeds
#   3. Release build: benchmark smoke (every benchmark runs for a few ms)
#   4. arm64 cross build, its tests under qemu-aarch64 (NEON against scalar)
#   5. x86 fallbacks under qemu-x86_64: -cpu max picks AVX2, -cpu Nehalem scalar
#   6. clang-format and banned-function checks
# Ends with "N passed, N failed" over every ctest run and check.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || exit 1
fuzz_seconds=${MC_FUZZ_SECONDS:-10}
jobs=$(nproc)
total_pass=0 total_fail=0

# Runs ctest with the given args, adds its counts to the totals.
run_ctest() {
	local log
	log=$(mktemp)
	ctest --no-tests=error --output-on-failure -j "$jobs" "$@" 2>&1 | tee "$log"
	local line
	line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
	if [ -z "$line" ]; then
		total_fail=$((total_fail + 1))
	else
		local f t
		f=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
		t=$(echo "$line" | sed -E 's/.* out of ([0-9]+).*/\1/')
		total_pass=$((total_pass + t - f))
		total_fail=$((total_fail + f))
	fi
	rm -f "$log"
}

step() { echo; echo "==== $*"; }
check() { # check NAME COMMAND...: one pass or fail
	if "${@:2}"; then total_pass=$((total_pass + 1)); else
		echo "CHECK FAILED: $1"; total_fail=$((total_fail + 1)); fi
}

step "1/6 gcc ASan+UBSan: build and ctest"
if cmake --preset asan >/dev/null && cmake --build --preset asan; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest --test-dir build/asan
else total_fail=$((total_fail + 1)); fi

step "2/6 clang libFuzzer: every target ${fuzz_seconds}s"
if cmake --preset fuzz -DMC_FUZZ_SECONDS="$fuzz_seconds" >/dev/null && cmake --build --preset fuzz; then
	run_ctest --test-dir build/fuzz -L fuzz -j 1
else total_fail=$((total_fail + 1)); fi

step "3/6 Release: benchmark smoke"
if cmake --preset release >/dev/null && cmake --build --preset release; then
	run_ctest --test-dir build/release -L bench -j 1
else total_fail=$((total_fail + 1)); fi

step "4/6 arm64 cross build under qemu-aarch64"
if cmake --preset arm64 >/dev/null && cmake --build --preset arm64; then
	run_ctest --test-dir build/arm64 -E 'cli_|install'
else total_fail=$((total_fail + 1)); fi

step "5/6 x86 fallbacks under qemu-x86_64"
qemu_isa() { # qemu_isa CPU EXPECTED
	local out
	out=$(qemu-x86_64 -cpu "$1" build/release/tests/test_b64 2>&1 | tail -3)
	echo "qemu -cpu $1: $out"
	echo "$out" | grep -q "active: $2" && echo "$out" | grep -q ", 0 failed"
}
check "qemu -cpu max picks avx2" qemu_isa max avx2
check "qemu -cpu Nehalem picks scalar" qemu_isa Nehalem scalar

step "6/6 format and banned functions"
fmt_files=$(git ls-files '*.c' '*.h' '*.cc')
check "clang-format" clang-format-14 --dry-run --Werror $fmt_files
banned() { ! git grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|strtok)\s*\(' -- '*.c' '*.h' '*.cc'; }
check "banned functions" banned

echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
