#!/bin/sh
# deps.sh build|check|demo - make sure the Debian packages a make target
# needs are installed.  As root it installs what is missing with apt-get;
# otherwise it prints the exact command to run and fails.
set -eu

build="build-essential pkg-config libssl-dev libpam0g-dev libsystemd-dev"
run="openssl systemd libpam-wrapper libnss-wrapper python3 procps util-linux"
check="$run perl ca-certificates curl man-db groff-base fail2ban iproute2 systemd-container libuid-wrapper strace procmail liblockfile-bin isync mutt tmux"

case "${1:-build}" in
build) want="$build" ;;
check) want="$build $check" ;;
demo)  want="$build $run curl" ;;
*) echo "usage: $0 build|check|demo" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" = 0 ]; then
	echo "Installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing >/dev/null
else
	echo "Missing Debian packages:$missing" >&2
	echo "Install them with:  sudo apt-get install$missing" >&2
	exit 1
fi
