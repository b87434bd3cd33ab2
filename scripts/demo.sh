#!/usr/bin/env bash
# demo.sh [--size-mib N] [demo options]: the main job on this machine.
# Installs what is missing (scripts/deps.sh demo, libssl-dev for the mail
# layers, Postfix and Dovecot through scripts/mailservers.sh), builds Release,
# starts a real Postfix + Dovecot on free 127.0.0.1 ports in a state directory
# of its own (so two runs never collide), runs
#   mimecodec demo --smtp smtp://127.0.0.1:PORT --pop3 pop3s://127.0.0.1:PORT
#                  --user alice@example.test --password-file F --cafile CA
# (codec stage, then compose + SMTP STARTTLS/AUTH + delivery + POP3S +
# parse + extract + sha256), and stops the servers by PID on exit.
# The figures go to $DEMO_OUT/demo.json (or the --json FILE given), the
# demo's output to $DEMO_OUT/demo.log, and bench/demo_chart.py draws them
# into $DEMO_OUT/demo.png (stage MB/s with peak memory, base64 kernels beside
# memcpy); DEMO_OUT defaults to build/release. A chart that cannot be drawn
# is an error (exit 1).
# Not root (the servers need it): only the codec stage runs (no JSON, no PNG).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
cmake --preset release >/dev/null
cmake --build --preset release --target mimecodec_cli # the tool only: no benchmarks, no tests
mc=build/release/mimecodec

# --size-mib N (default 256) sizes Postfix's message_size_limit too
mib=256
out_dir=${DEMO_OUT:-build/release}
json=
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	[ "${args[$i]}" = --size-mib ] && [ $((i + 1)) -lt ${#args[@]} ] && mib=${args[$((i + 1))]}
	[ "${args[$i]}" = --json ] && [ $((i + 1)) -lt ${#args[@]} ] && json=${args[$((i + 1))]}
done
mkdir -p "$out_dir"
extra=()
[ -n "$json" ] || { json=$out_dir/demo.json; extra=(--json "$json"); }
log=$out_dir/demo.log
png=$out_dir/demo.png

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: not root: the local mail servers cannot start; codec stage only" >&2
	exec "$mc" demo "$@"
fi
state=$(mktemp -d /tmp/mimecodec-demo-srv.XXXXXX)
stop_servers() { scripts/mailservers.sh stop "$state" --purge >/dev/null 2>&1 || true; }
trap stop_servers EXIT
trap 'exit 130' INT TERM
scripts/mailservers.sh start "$state"
# shellcheck disable=SC1091
. "$state/env.sh"
# base64 grows the attachment by 4/3 plus CRLFs: allow it (with margin)
limit=$(( (mib * 1048576 / 57 * 78) + 64 * 1048576 ))
if [ "$limit" -gt 134217728 ]; then
	postconf -c "$state/etc/postfix" -e "message_size_limit=$limit"
	postfix -c "$state/etc/postfix" reload >/dev/null 2>&1
	sleep 1 # smtpd processes restart with the new limit
fi
printf '%s\n' alice-pw >"$state/alice.pw"
chmod 600 "$state/alice.pw"
rc=0
rm -f "$json" "$png"
"$mc" demo --smtp "smtp://127.0.0.1:$MC_SMTP_PORT" --pop3 "pop3s://127.0.0.1:$MC_POP3S_PORT" \
	--user alice@example.test --password-file "$state/alice.pw" --cafile "$MC_MAILSRV_CA" \
	--to alice@example.test "${extra[@]}" "$@" | tee "$log" || rc=$? # pipefail: the demo's status
if [ -s "$json" ]; then
	if /usr/bin/python3 bench/demo_chart.py --json "$json" --log "$log" -o "$png" >/dev/null; then
		echo "demo.sh: figures: $json; chart: $png; output: $log"
	else
		echo "demo.sh: the chart could not be drawn from $json (see above)" >&2
		rc=1
	fi
else
	echo "demo.sh: no figures were written ($json): the mail stage did not finish" >&2
	[ $rc -ne 0 ] || rc=1
fi
exit $rc
