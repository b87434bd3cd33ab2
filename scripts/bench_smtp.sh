#!/usr/bin/env bash
# bench_smtp.sh: SMTP send throughput behind bench/RESULTS_SMTP.md.
#   1. builds the Release tree build/release-smtp (mimecodec and bench/smtp_sink);
#   2. checks the sink (bench/smtp_bench_sinkcheck.py: DATA terminators split
#      at every position, BDAT, byte counts);
#   3. makes a random attachment (64 MiB), a throwaway CA and server certificate;
#   4. starts three smtp_sink processes on free 127.0.0.1 ports (plain;
#      STARTTLS; implicit TLS) and times `mimecodec send` (composing on the
#      fly with --attach, and --eml), curl and Python smtplib sending the same
#      message to each, best of 3, plus peak RSS at 1 MiB and 1 GiB; stops the sinks by PID;
#   5. writes bench/RESULTS_SMTP.md.
# The measurement holds /tmp/mc-bench.lock so it never overlaps another run.
# Needs: curl, time (/usr/bin/time), openssl, python3, cmake, ninja-build, libssl-dev.
#
# usage: scripts/bench_smtp.sh [--no-build] [--mib N] [--reps N] [--only REGEX]
#                              [--rss-mib LIST]
#   --mib N        attachment size (default 64)
#   --reps N       runs per client, best kept (default 3)
#   --only REGEX   only the rows whose "mode client" matches
#   --rss-mib LIST attachment sizes for the peak-RSS table (default 1,1024)
# environment: BUILD_DIR (default build/release-smtp), WORK_DIR (default
#              $BUILD_DIR/smtp-bench)
set -euo pipefail

cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release-smtp}
work=${WORK_DIR:-$build/smtp-bench}
do_build=1
args=()
cmdline="scripts/bench_smtp.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	--no-build) do_build=0 ;;
	--mib | --reps | --only | --rss-mib)
		args+=("$1" "$2")
		shift
		;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0
		;;
	*)
		echo "bench_smtp.sh: unknown option $1" >&2
		exit 2
		;;
	esac
	shift
done

scripts/deps.sh bench # curl, time, openssl, the build tools

if [ "$do_build" = 1 ]; then
	gen=()
	command -v ninja >/dev/null && gen=(-G Ninja)
	[ -f "$build/CMakeCache.txt" ] && gen=()
	cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DMC_WERROR=ON >/dev/null
	cmake --build "$build" --target mimecodec_cli smtp_sink
fi

# the sink must count what it is sent before it measures anything
/usr/bin/python3 bench/smtp_bench_sinkcheck.py "$build/bench/smtp_sink"

mkdir -p "$work"
exec flock /tmp/mc-bench.lock /usr/bin/python3 bench/smtp_bench.py --build "$build" \
	--work "$work" --command "$cmdline" "${args[@]}"
