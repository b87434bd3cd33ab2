#!/usr/bin/env bash
# test.sh: installs what is missing, then runs the whole test suite:
#   1. gcc ASan+UBSan build, all of ctest (unit, CLI, corpus replay, install)
#   2. gcc TSan build: the tests of the threaded code (CLI, fetch, send queue)
#   3. clang libFuzzer build, every target for MC_FUZZ_SECONDS from its seeds
#   4. Release build: benchmark smoke (every benchmark runs for a few ms)
#   5. arm64 cross build, its tests under qemu-aarch64 (NEON against scalar)
#   6. x86 fallbacks under qemu-x86_64: -cpu max picks AVX2, -cpu Nehalem scalar
#   7. valgrind memcheck of every unit test (Release build; valgrind has no
#      AVX-512, so it runs the AVX2 and scalar kernels)
#   8. line coverage of codec/ and mime/ (gcov): at least 90% and 85%
#   9. clang-format and banned-function checks
# Ends with "N passed, N failed" over every ctest run and check.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh test || exit 1
fuzz_seconds=${MC_FUZZ_SECONDS:-30}
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

step "1/9 gcc ASan+UBSan: build and ctest"
if cmake --preset asan >/dev/null && cmake --build --preset asan; then
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 run_ctest --test-dir build/asan
else total_fail=$((total_fail + 1)); fi

step "2/9 gcc ThreadSanitizer: the tests of the threaded code"
# The base64 CLI's worker threads, the fetch pipeline and the send queue's
# pool, with the real mail servers; a data race or lock-order inversion
# exits non-zero (halt_on_error) and fails the test. The 192 MiB RSS check is
# the ASan step's.
if cmake --preset tsan >/dev/null && cmake --build --preset tsan; then
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 MC_CLI_SKIP_BIG=1 run_ctest --test-dir build/tsan \
		-R '^(test_sendq|test_transport|cli_base64|fetch_pipeline|fetch_accounts|fetch_stress|send_queue|send_progress|mailservers_start|mailservers_stop)$'
else total_fail=$((total_fail + 1)); fi

step "3/9 clang libFuzzer: every target ${fuzz_seconds}s"
if cmake --preset fuzz -DMC_FUZZ_SECONDS="$fuzz_seconds" >/dev/null && cmake --build --preset fuzz; then
	run_ctest --test-dir build/fuzz -L fuzz -j 2
else total_fail=$((total_fail + 1)); fi

step "4/9 Release: benchmark smoke"
if cmake --preset release -DMC_BUILD_BENCH=ON >/dev/null && cmake --build --preset release; then
	run_ctest --test-dir build/release -L bench -j 1
else total_fail=$((total_fail + 1)); fi

step "5/9 arm64 cross build under qemu-aarch64"
if cmake --preset arm64 >/dev/null && cmake --build --preset arm64; then
	# The cross sysroot has no gconv modules, so iconv knows no charsets under
	# qemu: the charset-converting tests run in the native steps only.
	run_ctest --test-dir build/arm64 -E 'cli_|install|encword|rfc2231|test_mime|test_summary'
else total_fail=$((total_fail + 1)); fi

step "6/9 x86 fallbacks under qemu-x86_64"
qemu_isa() { # qemu_isa CPU EXPECTED
	local out
	out=$(qemu-x86_64 -cpu "$1" build/release/tests/test_b64 2>&1 | tail -3)
	echo "qemu -cpu $1: $out"
	echo "$out" | grep -q "active: $2" && echo "$out" | grep -q ", 0 failed"
}
check "qemu -cpu max picks avx2" qemu_isa max avx2
check "qemu -cpu Nehalem picks scalar" qemu_isa Nehalem scalar

step "7/9 valgrind memcheck of the unit tests"
vg_one() { # vg_one TEST_BINARY: no error, no definite or indirect leak
	local log
	log=$(mktemp)
	if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp "$1" >"$log" 2>&1; then
		echo "valgrind ok: $(basename "$1"): $(tail -1 "$log")"
		rm -f "$log"
		return 0
	fi
	echo "valgrind FAILED: $1"
	head -60 "$log"
	rm -f "$log"
	return 1
}
if command -v valgrind >/dev/null && [ -d build/release/tests ]; then
	for t in build/release/tests/test_*; do
		[ -x "$t" ] && check "valgrind $(basename "$t")" vg_one "$t"
	done
else total_fail=$((total_fail + 1)); echo "valgrind or the Release tests are missing"; fi

step "8/9 line coverage of codec/ and mime/"
if cmake --preset coverage >/dev/null && cmake --build --preset coverage; then
	find build/coverage -name '*.gcda' -delete
	ctest --test-dir build/coverage -j "$jobs" -L unit --output-on-failure >/dev/null 2>&1 || true
	ctest --test-dir build/coverage -j "$jobs" -R '^(corpus_python|cli_parse|encword_python)$' \
		--output-on-failure >/dev/null 2>&1 || true
	check "coverage" /usr/bin/python3 scripts/coverage.py build/coverage codec=90 mime=85
else total_fail=$((total_fail + 1)); fi

step "9/9 format and banned functions"
fmt_files=$(git ls-files '*.c' '*.h' '*.cc')
check "clang-format" clang-format-14 --dry-run --Werror $fmt_files
banned() { ! git grep -nE '\b(strcpy|strcat|sprintf|vsprintf|gets|atoi|strtok)\s*\(' -- '*.c' '*.h' '*.cc'; }
check "banned functions" banned

echo
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
