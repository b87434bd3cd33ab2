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
# Not root (the servers need it): only the codec stage runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh demo
if ! dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q "install ok installed"; then
	echo "demo.sh: installing libssl-dev (SMTP/POP3 over TLS)"
	sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends libssl-dev >/dev/null ||
		{ $sudo apt-get -o DPkg::Lock::Timeout=600 update -qq &&
		  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
			--no-install-recommends libssl-dev >/dev/null; }
fi
cmake --preset release >/dev/null
cmake --build --preset release --target mimecodec_cli # the tool only: no benchmarks, no tests
mc=build/release/mimecodec

# --size-mib N (default 256) sizes Postfix's message_size_limit too
mib=256
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
	[ "${args[$i]}" = --size-mib ] && [ $((i + 1)) -lt ${#args[@]} ] && mib=${args[$((i + 1))]}
done

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
"$mc" demo --smtp "smtp://127.0.0.1:$MC_SMTP_PORT" --pop3 "pop3s://127.0.0.1:$MC_POP3S_PORT" \
	--user alice@example.test --password-file "$state/alice.pw" --cafile "$MC_MAILSRV_CA" \
	--to alice@example.test "$@" || rc=$?
exit $rc
