#!/usr/bin/env bash
# bench.sh: the full benchmark run behind bench/RESULTS.md.
#   1. installs the Debian packages it needs (only those missing);
#   2. builds the release tree (build/release, the "release" preset if
#      CMakePresets.json has one);
#   3. runs mc_bench with 5 repetitions (median) into build/release/bench.json,
#      then Python's binascii QP on the same inputs (bench/qp_python.py);
#   4. times the CLI against coreutils on a generated 256 MiB file;
#   5. writes bench/RESULTS.md, bench/b64_encode.png, bench/b64_decode.png.
# Takes about 5-8 minutes on a 2-core VM. Run it once, on a quiet machine.
#
# usage: scripts/bench.sh [--no-install] [--no-cli] [--cli-only] [--keep]
#   --no-install  do not check or install packages
#   --no-cli      skip the CLI-vs-coreutils timing
#   --cli-only    only the CLI timing; reuse build/release/bench.json for the report
#   --keep        keep the generated 256 MiB files (build/release/cli-bench/)
# environment: MIN_TIME (seconds per repetition, default 0.05), REPS (default 5),
#              FILTER (a --benchmark_filter regex, default: all), CLI_MIB (256),
#              SOURCE_DIR / BUILD_DIR (build another tree, e.g. a patched copy;
#              default: this checkout and build/release). The report always goes
#              to bench/ of this checkout.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(pwd)
src=${SOURCE_DIR:-.}
build=${BUILD_DIR:-build/release}
min_time=${MIN_TIME:-0.05}
reps=${REPS:-5}
filter=${FILTER:-}
cli_mib=${CLI_MIB:-256}
install=1 do_bench=1 do_cli=1 keep=0
for a in "$@"; do
	case "$a" in
	--no-install) install=0 ;;
	--no-cli) do_cli=0 ;;
	--cli-only) do_bench=0 ;;
	--keep) keep=1 ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*)
		echo "bench.sh: unknown option $a" >&2
		exit 2
		;;
	esac
done

log() { printf '\n== bench.sh: %s\n' "$*"; }

# ---- 1. packages
if [ "$install" = 1 ]; then
	pkgs=(build-essential cmake ninja-build pkg-config libbenchmark-dev libssl-dev
		libgmime-3.0-dev libb64-dev libmimetic-dev python3-matplotlib coreutils)
	missing=()
	for p in "${pkgs[@]}"; do
		dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		log "installing ${missing[*]}"
		sudo=
		[ "$(id -u)" -eq 0 ] || sudo=sudo
		$sudo apt-get -o DPkg::Lock::Timeout=600 update
		DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y \
			--no-install-recommends "${missing[@]}"
	fi
fi

# ---- 2. build (Release; the preset when there is one)
log "building $build"
if [ -z "${SOURCE_DIR:-}${BUILD_DIR:-}" ] && [ -f CMakePresets.json ] &&
	cmake --list-presets 2>/dev/null | grep -q '"release"'; then
	cmake --preset release -DMC_BUILD_BENCH=ON # binaryDir build/release
else
	cmake -S "$src" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt")
if [ "$build_type" != Release ]; then
	echo "bench.sh: $build is a '$build_type' tree, not Release" >&2
	exit 1
fi
targets=(mc_bench)
[ "$do_cli" = 1 ] && grep -q '^MC_BUILD_CLI:BOOL=ON' "$build/CMakeCache.txt" && targets+=(mimecodec_cli)
cmake --build "$build" --target "${targets[@]}"
mc_bench=$build/bench/mc_bench
[ -x "$mc_bench" ] || {
	echo "bench.sh: $mc_bench was not built (Google Benchmark missing?)" >&2
	exit 1
}

# ---- 3. the benchmark run
json=$build/bench.json
bench_cmd=("$mc_bench" --benchmark_min_time="$min_time" --benchmark_repetitions="$reps"
	--benchmark_report_aggregates_only=true --benchmark_out="$json"
	--benchmark_out_format=json)
[ -n "$filter" ] && bench_cmd+=(--benchmark_filter="$filter")
if [ "$do_bench" = 1 ]; then
	log "running ${bench_cmd[*]}"
	echo "(Debian's libbenchmark prints '***WARNING*** Library was built as DEBUG': ignore it)"
	start=$(date +%s)
	"${bench_cmd[@]}"
	log "benchmarks took $(($(date +%s) - start)) s"
	# Python's binascii QP on the same inputs, right after: issue 3's reference column
	log "timing Python's binascii quoted-printable (bench/qp_python.py)"
	/usr/bin/python3 bench/qp_python.py --out "$build/qp_python.json"
elif [ ! -f "$json" ]; then
	echo "bench.sh: --cli-only needs an earlier $json" >&2
	exit 1
fi

# ---- 4. CLI against coreutils: best of 7, alternating, in this one run
cli_json=$build/cli_timing.json
# time_once CMD...: runs CMD once (stdout to $sink), prints the wall time in
# ns. The clock is bash's own EPOCHREALTIME (microseconds): a $(date) after
# the command would add a fork and an exec (1-2 ms) to every time.
time_once() {
	local t0 t1
	t0=${EPOCHREALTIME//[.,]/}
	"$@" >"$sink"
	t1=${EPOCHREALTIME//[.,]/}
	echo $(((t1 - t0) * 1000))
}
cli=$build/mimecodec
if [ "$do_cli" = 1 ]; then
	if [ ! -x "$cli" ]; then
		echo "bench.sh: $cli not built; CLI timing skipped" >&2
		rm -f "$cli_json"
	else
		dir=$build/cli-bench
		mkdir -p "$dir"
		raw=$dir/random.bin enc=$dir/random.b64 out=$dir/out
		log "CLI timing on $cli_mib MiB in $dir"
		if [ ! -f "$raw" ] || [ "$(stat -c %s "$raw")" -ne $((cli_mib << 20)) ]; then
			head -c "$((cli_mib << 20))" /dev/urandom >"$raw"
		fi
		base64 "$raw" >"$enc"
		# Written back now, not by the flusher in the middle of the timing
		# (dirty pages expire after 30 s).
		sync
		# correctness first: same bytes as coreutils both ways
		"$cli" base64 "$raw" >"$out"
		cmp -s "$out" "$enc" || {
			echo "bench.sh: mimecodec base64 output differs from coreutils" >&2
			exit 1
		}
		"$cli" base64 -d "$enc" >"$out"
		cmp -s "$out" "$raw" || {
			echo "bench.sh: mimecodec base64 -d output differs from the input" >&2
			exit 1
		}
		runs=7
		# Two sinks: a new file on this filesystem (what a user sees, bound by
		# the filesystem's write speed) and /dev/null (the tools themselves).
		declare -A best
		# encode1: the same encode held to one thread (a large file is
		# encoded by one thread per CPU otherwise; see README).
		ops="encode.file encode.null encode1.null decode.file decode.null"
		for ((r = 1; r <= runs; r++)); do
			for op in $ops; do
				case $op in
				encode1.*) a=(env MIMECODEC_THREADS=1 "$cli" base64 "$raw") b=(base64 "$raw") ;;
				encode.*) a=("$cli" base64 "$raw") b=(base64 "$raw") ;;
				decode.*) a=("$cli" base64 -d "$enc") b=(base64 -d "$enc") ;;
				esac
				case $op in *.file) sink=$out ;; *.null) sink=/dev/null ;; esac
				for tool in mimecodec coreutils; do
					if [ $tool = mimecodec ]; then c=("${a[@]}"); else c=("${b[@]}"); fi
					rm -f "$out"
					# Into a file: the same command once untimed first. The
					# VM hands freed memory back to its host (virtio-balloon
					# free page reporting), and a new page cache page the host
					# must fault in again costs microseconds: a run that needs
					# more pages than the command before it freed took 0.1-0.6 s
					# longer. After this run frees its own output, the timed
					# run finds as many warm pages as it needs, whichever tool
					# ran before.
					if [ "$sink" = "$out" ]; then "${c[@]}" >"$out"; rm -f "$out"; fi
					t=$(time_once "${c[@]}")
					echo "  run $r $op $tool: $((t / 1000000)) ms"
					cur=${best[$op.$tool]:-}
					if [ -z "$cur" ] || [ "$t" -lt "$cur" ]; then best[$op.$tool]=$t; fi
				done
			done
		done
		sec() { awk -v ns="$1" 'BEGIN { printf "%.6f", ns / 1e9 }'; }
		raw_bytes=$(stat -c %s "$raw") enc_bytes=$(stat -c %s "$enc")
		cu_version=$(base64 --version | head -n1)
		row() { # row OP SINK INPUT_BYTES MC_CMD CU_CMD
			echo "    {\"op\": \"$1\", \"sink\": \"$2\", \"input_bytes\": $3,"
			echo "     \"mimecodec_cmd\": \"$4\", \"coreutils_cmd\": \"$5\","
			echo "     \"mimecodec_s\": $(sec "${best[$1.$2.mimecodec]}"), \"coreutils_s\": $(sec "${best[$1.$2.coreutils]}")}"
		}
		{
			echo "{"
			echo "  \"file_bytes\": $raw_bytes, \"encoded_bytes\": $enc_bytes, \"runs\": $runs,"
			echo "  \"dir\": \"$dir\", \"coreutils_version\": \"$cu_version\","
			echo "  \"cpus\": $(nproc),"
			echo "  \"rows\": ["
			row encode file "$raw_bytes" "mimecodec base64 FILE > out" "base64 FILE > out"
			echo ","
			row encode null "$raw_bytes" "mimecodec base64 FILE > /dev/null" "base64 FILE > /dev/null"
			echo ","
			row encode1 null "$raw_bytes" "MIMECODEC_THREADS=1 mimecodec base64 FILE > /dev/null" \
				"base64 FILE > /dev/null"
			echo ","
			row decode file "$enc_bytes" "mimecodec base64 -d FILE.b64 > out" "base64 -d FILE.b64 > out"
			echo ","
			row decode null "$enc_bytes" "mimecodec base64 -d FILE.b64 > /dev/null" "base64 -d FILE.b64 > /dev/null"
			echo "  ]"
			echo "}"
		} >"$cli_json"
		[ "$keep" = 1 ] || rm -f "$raw" "$enc" "$out"
	fi
fi

# ---- 5. the report (Debian's python: python3-matplotlib imports only there)
log "writing bench/RESULTS.md and plots"
cc=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$build/CMakeCache.txt")
cflags=$(sed -n 's/^CMAKE_C_FLAGS_RELEASE:[A-Z]*=//p' "$build/CMakeCache.txt")
build_info="$("${cc:-cc}" --version | head -n1), CMAKE_BUILD_TYPE=$build_type ($cflags)"
report=(/usr/bin/python3 bench/report.py "$json" --out-dir bench
	--command "scripts/bench.sh  # ${bench_cmd[*]}" --build-info "$build_info")
[ "$do_cli" = 1 ] && [ -f "$cli_json" ] && report+=(--cli "$cli_json")
[ -f "$build/qp_python.json" ] && report+=(--qp-python "$build/qp_python.json")
"${report[@]}"
echo "bench.sh: done ($root/bench/RESULTS.md)"
