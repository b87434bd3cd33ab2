#!/bin/bash
# mailservers.sh: real mail servers on loopback for the end-to-end tests.
#
#   scripts/mailservers.sh start [DIR]   install what is missing, start, write DIR/env.sh
#   scripts/mailservers.sh stop  [DIR]   stop what start started, by PID (--purge: rm DIR)
#   scripts/mailservers.sh env   [DIR]   print DIR/env.sh (source it: eval "$(... env)")
#
# DIR (default $MC_MAILSRV_DIR, else /tmp/mimecodec-mailsrv) holds everything:
# a test CA and server certificate, configs, queues, logs, the Maildirs. It
# must be reachable by the postfix and dovecot users (so not under a 0700
# home directory); /tmp is. Two DIRs give two independent instances: each
# picks a free block of ports at its first start and keeps it in DIR/ports.
#
#   SMTP_PORT        Postfix: plain + STARTTLS; AUTH (PLAIN, LOGIN via Dovecot) only after TLS
#   SMTPS_PORT       Postfix: implicit TLS, AUTH required to relay
#   SMTP_NOTLS_PORT  Postfix: no STARTTLS, no AUTH (plaintext and downgrade tests)
#   POP3_PORT        Dovecot: POP3 + STLS
#   POP3S_PORT       Dovecot: POP3 over implicit TLS
# All on 127.0.0.1 (and [::1] for SMTP, SMTPS, POP3, POP3S). Users alice,
# bob, carol with passwords <name>-pw, addresses <name>@example.test,
# delivered to DIR/mail/<name>/Maildir. The certificate names
# mail.example.test, 127.0.0.1 and ::1, not "localhost" (the wrong-host test
# connects to localhost on purpose).
#
# Pitfalls handled here (each met on this kind of machine): Postfix prints
# errors only to a terminal (read its maillog_file); it dozes while main.cf is
# less than a second old (configs are written only on change and back-dated);
# Debian's master.cf chroots smtpd (chroot = n); message_size_limit defaults
# to 10 MB; Debian's mail user is uid 8 (virtual_minimum_uid); orphaned
# daemons can stay zombies (state Z counts as dead); daemons keep the stderr
# they were started with (never a pipe); Dovecot's auth penalty would slow
# every login after a failed one (disabled); Dovecot treats loopback as
# secure, so "no credentials before TLS" is the client's job.
set -euo pipefail
trap "" PIPE

CMD=${1:-}
DIR=${2:-${MC_MAILSRV_DIR:-/tmp/mimecodec-mailsrv}}
DOMAIN=example.test
HOST4=127.0.0.1
USERS="alice:alice-pw bob:bob-pw carol:carol-pw"
NPORTS=5
PY=/usr/bin/python3

die() { echo "mailservers.sh: $*" >&2; exit 1; }
say() { printf '%s\n' "$*" 2>/dev/null || true; }

# running PID: the process exists and is not a zombie
running() { local s; s=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) && [ -n "$s" ] && [ "$s" != Z ]; }
pid_in() { [ -s "$1" ] && head -1 "$1" | tr -d ' '; }

# ------------------------------------------------------------------ packages
ensure_packages() {
	local missing=()
	command -v postfix >/dev/null || missing+=(postfix)
	command -v dovecot >/dev/null || missing+=(dovecot-core)
	[ -x /usr/lib/dovecot/pop3 ] || missing+=(dovecot-pop3d)
	command -v openssl >/dev/null || missing+=(openssl)
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	local apt=(apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}")
	if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" >"/tmp/mailservers-apt.$$.log" 2>&1; then
		apt-get update -q -o DPkg::Lock::Timeout=600 >>"/tmp/mailservers-apt.$$.log" 2>&1 || true
		DEBIAN_FRONTEND=noninteractive "${apt[@]}" >>"/tmp/mailservers-apt.$$.log" 2>&1 ||
			die "apt-get install ${missing[*]} failed: see /tmp/mailservers-apt.$$.log"
	fi
	rm -f "/tmp/mailservers-apt.$$.log"
}

# ------------------------------------------------------------------ ports
# A block of NPORTS consecutive ports free on 127.0.0.1 and ::1, from a random
# start (so parallel runs rarely even try the same block), checked by binding.
pick_ports() {
	"$PY" - "$NPORTS" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        try:
            s.bind((host, p))
        except OSError:
            return False
        finally:
            s.close()
    return True
rnd = random.SystemRandom()
for _ in range(200):
    base = rnd.randrange(20000, 60000 - n)
    if all(free(base + i) for i in range(n)):
        print(base)
        sys.exit(0)
sys.exit("no free port block")
EOF
}

# ------------------------------------------------------------------ files
CHANGED=""
# put_file DEST < content: replace only if changed; back-date (Postfix dozes on new files)
put_file() {
	cat >"$1.new"
	if cmp -s "$1.new" "$1"; then
		rm -f "$1.new"
	else
		mv "$1.new" "$1"
		touch -d "@$(($(date +%s) - 10))" "$1"
		CHANGED+=" $1"
	fi
}

wait_port() { # host port seconds
	local i
	for ((i = 0; i < ${3:-10} * 20; i++)); do
		(exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
		sleep 0.05
	done
	die "$1:$2 did not open (logs in $DIR/log)"
}

make_certs() {
	local t=$DIR/etc/tls
	[ -s "$t/server.pem" ] && return 0
	(
		cd "$t"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
			-keyout ca.key -out ca.pem -subj "/CN=mimecodec test CA" \
			-addext basicConstraints=critical,CA:TRUE \
			-addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
			-out server.csr -subj "/CN=mail.$DOMAIN" 2>/dev/null
		printf '%s\n' "subjectAltName=DNS:mail.$DOMAIN,IP:127.0.0.1,IP:::1" \
			"basicConstraints=CA:FALSE" "keyUsage=digitalSignature" \
			"extendedKeyUsage=serverAuth" >server.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile server.ext -out server.pem 2>/dev/null
		# a second certificate from the same CA for another name (wrong-host tests)
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout other.key \
			-out other.csr -subj "/CN=other.$DOMAIN" 2>/dev/null
		printf '%s\n' "subjectAltName=DNS:other.$DOMAIN" "basicConstraints=CA:FALSE" \
			"extendedKeyUsage=serverAuth" >other.ext
		openssl x509 -req -in other.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 3650 \
			-extfile other.ext -out other.pem 2>/dev/null
		rm -f server.csr server.ext other.csr other.ext ca.srl
		chmod 600 ca.key server.key other.key
		chmod 644 ca.pem server.pem other.pem
	) || die "openssl failed"
	[ -s "$t/server.pem" ] || die "certificate generation failed"
}

# ------------------------------------------------------------------ start
do_start() {
	if [ "$(id -u)" != 0 ]; then # exit 77: ctest counts the fixture as skipped
		echo "mailservers.sh: must run as root (Postfix and Dovecot drop privileges): skipped" >&2
		exit 77
	fi
	ensure_packages
	getent passwd dovecot dovenull postfix >/dev/null || die "dovecot/postfix users missing"
	mkdir -p "$DIR"
	chmod 755 "$DIR"
	runuser -u postfix -- test -x "$DIR" ||
		die "$DIR is not reachable by user postfix; choose a DIR under /tmp"
	local ETC=$DIR/etc RUN=$DIR/run LOG=$DIR/log MAIL=$DIR/mail
	mkdir -p "$ETC/tls" "$ETC/dovecot" "$ETC/postfix" "$RUN" "$LOG" "$MAIL"
	chmod 755 "$ETC" "$RUN" "$LOG" "$ETC/dovecot" "$ETC/postfix"
	chmod 700 "$ETC/tls"
	local MAILUID MAILGID
	MAILUID=$(id -u mail)
	MAILGID=$(id -g mail)

	local base
	if [ -s "$DIR/ports" ]; then base=$(cat "$DIR/ports"); else
		base=$(pick_ports) || die "no free ports"
		echo "$base" >"$DIR/ports"
	fi
	local SMTP_PORT=$base SMTPS_PORT=$((base + 1)) SMTP_NOTLS_PORT=$((base + 2))
	local POP3_PORT=$((base + 3)) POP3S_PORT=$((base + 4))

	make_certs

	local users_txt="" vmailbox_txt="" up u p
	for up in $USERS; do
		u=${up%%:*}
		p=${up#*:}
		users_txt+="${users_txt:+$'\n'}$u:{PLAIN}$p:$MAILUID:$MAILGID::$MAIL/$u"
		vmailbox_txt+="${vmailbox_txt:+$'\n'}$u@$DOMAIN $u/Maildir/"
		mkdir -p "$MAIL/$u/Maildir/"{cur,new,tmp}
	done
	put_file "$ETC/dovecot/users" <<<"$users_txt"
	put_file "$ETC/postfix/vmailbox" <<<"$vmailbox_txt"
	chown -R "$MAILUID:$MAILGID" "$MAIL"
	chmod 755 "$MAIL"
	chown root:dovecot "$ETC/dovecot/users"
	chmod 640 "$ETC/dovecot/users"

	put_file "$ETC/dovecot/dovecot.conf" <<EOF
# Self-contained Dovecot config for the mimecodec tests (dovecot -c THIS_FILE)
instance_name = mimecodec-$base
base_dir = $RUN/dovecot
state_dir = $RUN/dovecot-state
protocols = pop3
listen = 127.0.0.1, ::1
log_path = $LOG/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
ssl = yes
ssl_cert = <$ETC/tls/server.pem
ssl_key = <$ETC/tls/server.key
ssl_min_protocol = TLSv1.2
# Loopback counts as secure for Dovecot anyway: the clients enforce TLS.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mail_location = maildir:$MAIL/%n/Maildir
mail_uid = $MAILUID
mail_gid = $MAILGID
first_valid_uid = $MAILUID
first_valid_gid = $MAILGID
mail_fsync = never
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = username_format=%n $ETC/dovecot/users
}
userdb {
  driver = passwd-file
  args = username_format=%n $ETC/dovecot/users
}
service pop3-login {
  inet_listener pop3 {
    port = $POP3_PORT
  }
  inet_listener pop3s {
    port = $POP3S_PORT
    ssl = yes
  }
}
service imap-login {
  inet_listener imap {
    port = 0
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
service auth {
  unix_listener auth-postfix {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF

	local PF_SPOOL=$RUN/postfix-spool PF_DATA=$RUN/postfix-data
	mkdir -p "$PF_SPOOL"
	chown root:root "$PF_SPOOL"
	chmod 755 "$PF_SPOOL"
	put_file "$ETC/postfix/main.cf" <<EOF
# Postfix instance for the mimecodec tests (postfix -c $ETC/postfix start)
compatibility_level = 3.6
queue_directory = $PF_SPOOL
data_directory = $PF_DATA
mail_owner = postfix
setgid_group = postdrop
maillog_file = $LOG/postfix.log
maillog_file_prefixes = $DIR
myhostname = mail.$DOMAIN
mydomain = $DOMAIN
myorigin = \$mydomain
smtpd_banner = \$myhostname ESMTP mimecodec-test
inet_interfaces = loopback-only
inet_protocols = all
mynetworks = 127.0.0.0/8 [::1]/128
mydestination =
alias_maps =
alias_database =
local_transport = error:local delivery disabled in test instance
default_transport = error:outbound mail disabled in test instance
relay_transport = error:outbound mail disabled in test instance
disable_dns_lookups = yes
smtp_dns_support_level = disabled
biff = no
virtual_mailbox_domains = $DOMAIN
virtual_mailbox_base = $MAIL
virtual_mailbox_maps = texthash:$ETC/postfix/vmailbox
virtual_uid_maps = static:$MAILUID
virtual_gid_maps = static:$MAILGID
virtual_minimum_uid = $MAILUID
virtual_mailbox_limit = 0
message_size_limit = 134217728
smtpd_tls_cert_file = $ETC/tls/server.pem
smtpd_tls_key_file = $ETC/tls/server.key
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_loglevel = 1
smtpd_tls_received_header = yes
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_protocols = >=TLSv1.2
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = dovecot
smtpd_sasl_path = $RUN/dovecot/auth-postfix
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
# SMTP smuggling hardening: a client that sends bare LF is refused
smtpd_forbid_bare_newline = reject
smtpd_forbid_bare_newline_exclusions =
EOF

	put_file "$ETC/postfix/master.cf" <<EOF
# chroot = n everywhere (Debian's stock master.cf chroots smtpd)
$HOST4:$SMTP_PORT inet n - n - - smtpd
[::1]:$SMTP_PORT inet n - n - - smtpd
$HOST4:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
[::1]:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/submissions
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject
$HOST4:$SMTP_NOTLS_PORT inet n - n - - smtpd
  -o syslog_name=postfix/notls
  -o smtpd_tls_security_level=none
  -o smtpd_sasl_auth_enable=no
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF

	# Dovecot first: Postfix's SASL needs its auth socket.
	local dpid
	dpid=$(pid_in "$RUN/dovecot/master.pid" || true)
	if [ -n "$dpid" ] && running "$dpid"; then
		case $CHANGED in *"$ETC/dovecot/"*) kill -HUP "$dpid" ;; esac
	else
		rm -rf "$RUN/dovecot" # a stale master.pid or penalty socket blocks a fresh start
		dovecot -c "$ETC/dovecot/dovecot.conf" </dev/null >>"$LOG/dovecot.stderr" 2>&1 ||
			{ tail -20 "$LOG/dovecot.log" "$LOG/dovecot.stderr" >&2 2>/dev/null; die "dovecot did not start"; }
	fi
	if postfix -c "$ETC/postfix" status >/dev/null 2>&1; then
		case $CHANGED in *"$ETC/postfix/"* | *"$ETC/dovecot/users"*)
			postfix -c "$ETC/postfix" reload </dev/null >/dev/null 2>&1 ;;
		esac
	else
		postfix -c "$ETC/postfix" start </dev/null >>"$LOG/postfix.stderr" 2>&1 ||
			{ tail -20 "$LOG/postfix.log" >&2 2>/dev/null; die "postfix did not start"; }
	fi
	wait_port $HOST4 "$SMTP_PORT"
	wait_port $HOST4 "$SMTPS_PORT"
	wait_port $HOST4 "$SMTP_NOTLS_PORT"
	wait_port $HOST4 "$POP3_PORT"
	wait_port $HOST4 "$POP3S_PORT"
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$RUN/dovecot/auth-postfix" ] && break
		sleep 0.05
	done
	# PIDs for stop: the two master processes (their children follow them)
	mkdir -p "$RUN/pids"
	pid_in "$PF_SPOOL/pid/master.pid" >"$RUN/pids/postfix" || true
	pid_in "$RUN/dovecot/master.pid" >"$RUN/pids/dovecot" || true

	cat >"$DIR/env.sh.new" <<EOF
export MC_MAILSRV_DIR=$DIR
export MC_MAILSRV_CA=$ETC/tls/ca.pem
export MC_MAILSRV_CERT=$ETC/tls/server.pem MC_MAILSRV_KEY=$ETC/tls/server.key
export MC_MAILSRV_OTHER_CERT=$ETC/tls/other.pem MC_MAILSRV_OTHER_KEY=$ETC/tls/other.key
export MC_MAILSRV_DOMAIN=$DOMAIN
export MC_MAILSRV_MAILDIR=$MAIL
export MC_SMTP_PORT=$SMTP_PORT MC_SMTPS_PORT=$SMTPS_PORT MC_SMTP_NOTLS_PORT=$SMTP_NOTLS_PORT
export MC_POP3_PORT=$POP3_PORT MC_POP3S_PORT=$POP3S_PORT
EOF
	mv "$DIR/env.sh.new" "$DIR/env.sh"
	say "mail servers up in $DIR: SMTP $SMTP_PORT (STARTTLS), SMTPS $SMTPS_PORT," \
		"SMTP no TLS $SMTP_NOTLS_PORT, POP3 $POP3_PORT, POP3S $POP3S_PORT; env: $DIR/env.sh"
}

# ------------------------------------------------------------------ stop
do_stop() {
	local purge=${1:-} RUN=$DIR/run svc pid i
	local -A victims=()
	for svc in postfix dovecot; do
		pid=$(pid_in "$RUN/pids/$svc" || true)
		# fall back to the daemons' own pid files (a start that failed half-way)
		[ -z "$pid" ] && [ "$svc" = postfix ] && pid=$(pid_in "$RUN/postfix-spool/pid/master.pid" || true)
		[ -z "$pid" ] && [ "$svc" = dovecot ] && pid=$(pid_in "$RUN/dovecot/master.pid" || true)
		if [ -n "$pid" ] && running "$pid"; then
			kill -TERM "$pid" 2>/dev/null || true
			victims[$svc]=$pid
		fi
		rm -f "$RUN/pids/$svc"
	done
	for ((i = 0; i < 250 && ${#victims[@]} > 0; i++)); do
		for svc in "${!victims[@]}"; do
			running "${victims[$svc]}" || unset "victims[$svc]"
		done
		[ ${#victims[@]} -gt 0 ] && sleep 0.02
	done
	for svc in "${!victims[@]}"; do
		echo "mailservers.sh: $svc (pid ${victims[$svc]}) still running after 5 s: SIGKILL" >&2
		kill -KILL "${victims[$svc]}" 2>/dev/null || true
	done
	if [ "$purge" = --purge ]; then
		case $DIR in /tmp/?*) rm -rf "$DIR" ;; *) echo "mailservers.sh: not purging $DIR (not under /tmp)" >&2 ;; esac
	fi
	say "mail servers in $DIR stopped"
}

case $CMD in
start) do_start ;;
stop) do_stop "${3:-}" ;;
env) [ -s "$DIR/env.sh" ] && cat "$DIR/env.sh" || die "no $DIR/env.sh: run start first" ;;
*) echo "usage: $0 start|stop|env [DIR] (stop DIR --purge removes DIR)" >&2; exit 2 ;;
esac
