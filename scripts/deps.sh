#!/usr/bin/env bash
# deps.sh [demo|test|bench]: installs the Debian 12 packages a task needs,
# only those missing. Run as root (CI and fresh machines are).
set -euo pipefail
what=${1:-test}
pkgs=(build-essential cmake ninja-build pkg-config coreutils python3)
case "$what" in
demo) pkgs+=(libssl-dev python3-matplotlib) ;; # TLS for send/fetch; the demo's PNG chart
test) pkgs+=(clang-14 libclang-rt-14-dev llvm-14 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
	     qemu-user libbenchmark-dev libssl-dev libgmime-3.0-dev libb64-dev libmimetic-dev clang-format-14
	     valgrind strace) ;; # strace: the CLI's write boundaries (test_cli_base64.py)
bench) pkgs+=(libbenchmark-dev libssl-dev libgmime-3.0-dev libb64-dev libmimetic-dev python3-matplotlib
	curl mpop time openssl) ;; # curl, mpop: SMTP/POP3 peers; time: peak RSS; openssl: test CA
*) echo "usage: $0 [demo|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps.sh: installing ${missing[*]}"
	sudo=; [ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
fi
