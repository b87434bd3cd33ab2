#!/usr/bin/env bash
# oss-fuzz-build.sh: builds every fuzz target the way OSS-Fuzz (and ClusterFuzzLite)
# expect: with the caller's $CC, $CFLAGS and $LIB_FUZZING_ENGINE, into $OUT,
# each with its seed corpus (fuzz_<t>_seed_corpus.zip) and dictionary
# (fuzz_<t>.dict). Works for libFuzzer and for AFL++ (see fuzz/README.md).
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
: "${CC:?set CC}" "${OUT:?set OUT}" "${LIB_FUZZING_ENGINE:?set LIB_FUZZING_ENGINE}"
CFLAGS=${CFLAGS:-}
build=${WORK:-${TMPDIR:-/tmp}}/mimecodec-fuzz-build
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
cmake -S "$src" -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" \
	-DCMAKE_C_FLAGS="$CFLAGS" -DMC_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" \
	-DMC_BUILD_CLI=OFF -DMC_BUILD_BENCH=OFF >/dev/null
targets=()
for f in "$src"/fuzz/fuzz_*.c; do
	t=$(basename "$f" .c)
	targets+=("$t")
done
cmake --build "$build" --target "${targets[@]}"
mkdir -p "$OUT"
for t in "${targets[@]}"; do
	name=${t#fuzz_}
	cp "$build/fuzz/$t" "$OUT/"
	[ -f "$src/fuzz/dict/$name.dict" ] && cp "$src/fuzz/dict/$name.dict" "$OUT/$t.dict"
	if [ -d "$src/fuzz/corpus/$name" ]; then
		rm -f "$OUT/${t}_seed_corpus.zip"
		(cd "$src/fuzz/corpus/$name" && python3 -m zipfile -c "$OUT/${t}_seed_corpus.zip" .)
	fi
done
echo "oss-fuzz-build.sh: ${#targets[@]} targets in $OUT"
