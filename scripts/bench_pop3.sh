#!/usr/bin/env bash
# bench_pop3.sh: POP3 download speed of `mimecodec fetch` beside curl, mpop,
# Python's poplib and a raw read, from a real Dovecot on 127.0.0.1, plain,
# STLS and POP3S in one run; writes bench/RESULTS_POP3.md.
#   1. installs what is missing (curl, mpop, time; Postfix and Dovecot come
#      with scripts/mailservers.sh);
#   2. builds Release in build/release-pop3 (mimecodec and bench/pop3_raw);
#   3. starts the project's Dovecot (scripts/mailservers.sh) in a state
#      directory of its own, stopped by PID on exit;
#   4. bench/pop3_bench.py puts one message into bob's Maildir and times
#      every tool in every mode (best of --runs), under
#      flock /tmp/mc-bench.lock so two benchmark runs never overlap.
# The Dovecot of mailservers.sh accepts USER/PASS without TLS on loopback
# (disable_plaintext_auth = no), so "plain" needs no extra configuration;
# mimecodec's CLI itself refuses to send credentials without TLS, so its plain
# figure comes from the same library call (mc_pop3_fetch) in bench/pop3_raw.
#
# usage: scripts/bench_pop3.sh [--size-mib N] [--runs N] [--no-install] [--no-report]
#   --size-mib N   the message size (default 64)
#   --runs N       runs per tool and mode, the best counts (default 3)
#   --no-install   do not check or install packages
#   --no-report    print the table only; leave bench/RESULTS_POP3.md alone
# environment: BUILD_DIR (default build/release-pop3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build/release-pop3}
mib=64 runs=3 install=1 report=1
cmdline="scripts/bench_pop3.sh $*"
while [ $# -gt 0 ]; do
	case "$1" in
	--size-mib) mib=$2; shift ;;
	--runs) runs=$2; shift ;;
	--no-install) install=0 ;;
	--no-report) report=0 ;;
	-h | --help)
		awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
		exit 0 ;;
	*) echo "bench_pop3.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench_pop3.sh: must run as root (Dovecot)" >&2; exit 1; }

[ $install -eq 1 ] && scripts/deps.sh bench

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER=gcc >/dev/null
cmake --build "$build" --target mimecodec_cli pop3_raw

state=$(mktemp -d /tmp/mimecodec-bench-pop3.XXXXXX)
chmod 755 "$state"
stop_servers() { scripts/mailservers.sh stop "$state" --purge >/dev/null 2>&1 || true; }
trap stop_servers EXIT
trap 'exit 130' INT TERM
scripts/mailservers.sh start "$state"
# shellcheck disable=SC1091
. "$state/env.sh"
# the Dovecot master: its reaped children's CPU time is the server's share
MC_DOVECOT_PID=$(cat "$state/run/pids/dovecot" 2>/dev/null || true)
export MC_DOVECOT_PID

out=()
[ $report -eq 1 ] && out=(--out bench/RESULTS_POP3.md --json "$build/pop3_bench.json")
flock /tmp/mc-bench.lock /usr/bin/python3 bench/pop3_bench.py --build "$build" \
	--size-mib "$mib" --runs "$runs" --work "$state/work" --command "$cmdline" "${out[@]}"
