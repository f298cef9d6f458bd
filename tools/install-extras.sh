#!/bin/sh
# install-extras.sh - install everything around the postern binaries.
#
#   tools/install-extras.sh DESTDIR SBINDIR SYSCONFDIR UNITDIR LIBEXECDIR
#
# "make install" calls it after it has installed the binaries and man
# pages. It installs:
#   UNITDIR/            pop3d/pop3s/imapd/imaps .socket and @.service,
#                       with ExecStart= pointing into SBINDIR
#   sysusers.d/, tmpfiles.d/   postern.conf each (the "postern" user and
#                       /run/postern/empty)
#   /etc/pam.d/postern, SYSCONFDIR/postern/postern.conf
#                       only where they do not exist yet: an administrator's
#                       files are never overwritten
#   /etc/fail2ban/filter.d/postern.conf   if fail2ban is installed
#   SBINDIR/postern-mkcert
#   DOCDIR/             INSTALL, postern.conf.example, xinetd samples,
#                       fail2ban filter and jail, and the lists
#                       installed-files and config-files
# DOCDIR is $PREFIX/share/doc/postern. PREFIX comes from the environment
# or is SBINDIR without its trailing /sbin.
#
# With an empty DESTDIR, running as root, it also applies the sysusers.d
# and tmpfiles.d entries and runs "systemctl daemon-reload" when systemd
# is running. Staged installs (DESTDIR set) touch nothing outside DESTDIR.
# LIBEXECDIR is accepted for the Makefile's sake. Nothing goes there yet.
set -eu

if [ $# -ne 5 ]; then
	echo "usage: $0 DESTDIR SBINDIR SYSCONFDIR UNITDIR LIBEXECDIR" >&2
	exit 2
fi
destdir=$1 sbindir=$2 sysconfdir=$3 unitdir=$4
srcdir=$(cd "$(dirname -- "$0")/.." && pwd)

case $sbindir in
*/sbin) def_prefix=${sbindir%/sbin} ;;
*) def_prefix=/usr/local ;;
esac
prefix=${PREFIX:-$def_prefix}
docdir=${DOCDIR:-$prefix/share/doc/postern}

# sysusers.d and tmpfiles.d where systemd looks for them. Debian 12:
# /usr/lib/sysusers.d and /usr/lib/tmpfiles.d.
pc_var() {
	pkg-config --variable="$1" systemd 2>/dev/null || true
}
sysusersdir=${SYSUSERSDIR:-$(pc_var sysusersdir)}
sysusersdir=${sysusersdir:-/usr/lib/sysusers.d}
tmpfilesdir=${TMPFILESDIR:-$(pc_var tmpfilesdir)}
tmpfilesdir=${tmpfilesdir:-/usr/lib/tmpfiles.d}

manifest=$(mktemp)
conffiles=$(mktemp)
trap 'rm -f -- "$manifest" "$conffiles" "$manifest.conf"' EXIT

# Rewrite the paths that are built into the shipped files.
# /usr/local/sbin becomes SBINDIR. SYSCONFDIR moves postern's own
# directory only (PAM and fail2ban look in /etc whatever SYSCONFDIR says).
# With SYSCONFDIR other than /etc, /etc/postern/ becomes
# SYSCONFDIR/postern/, the units get "-c SYSCONFDIR/postern/postern.conf"
# (the binaries' built-in default is /etc/postern/postern.conf), and the
# installed postern.conf sets ssl_cert and ssl_key explicitly, because the
# built-in defaults still name /etc/postern/tls.
subst() {
	if [ "$sysconfdir" = /etc ]; then
		sed -e "s#/usr/local/sbin#$sbindir#g" "$1"
	else
		sed -e "s#/etc/postern/#$sysconfdir/postern/#g" \
		    -e "s#^\\(ExecStart=/usr/local/sbin/[a-z0-9]*\\)#\\1 -c $sysconfdir/postern/postern.conf#" \
		    -e "s#/usr/local/sbin#$sbindir#g" "$1"
	fi
}

# put MODE SRC DEST [subst]: install one file (DEST without DESTDIR).
put() {
	install -d -m 0755 "$destdir$(dirname -- "$3")"
	if [ "${4:-}" = subst ]; then
		subst "$2" > "$destdir$3.tmp.$$"
		chmod "$1" "$destdir$3.tmp.$$"
		mv -f "$destdir$3.tmp.$$" "$destdir$3"
	else
		install -m "$1" "$2" "$destdir$3"
	fi
	echo "$3" >> "$manifest"
}

# keep MODE SRC DEST: like put, but never replace an existing file. These
# are the administrator's files from then on, so they are listed in
# config-files, not installed-files, and an uninstall leaves them.
keep() {
	if [ -e "$destdir$3" ]; then
		cmp -s "$2" "$destdir$3" ||
			echo "install-extras: $destdir$3 exists; left alone" \
			    "(the shipped version is in $docdir)" >&2
	else
		install -d -m 0755 "$destdir$(dirname -- "$3")"
		install -m "$1" "$2" "$destdir$3"
	fi
	echo "$3" >> "$conffiles"
}

for u in pop3d pop3s imapd imaps; do
	put 0644 "$srcdir/units/$u.socket" "$unitdir/$u.socket"
	put 0644 "$srcdir/units/$u@.service" "$unitdir/$u@.service" subst
done
put 0644 "$srcdir/units/postern.sysusers" "$sysusersdir/postern.conf"
put 0644 "$srcdir/units/postern.tmpfiles" "$tmpfilesdir/postern.conf"

keep 0644 "$srcdir/units/postern.pam" /etc/pam.d/postern
install -d -m 0755 "$destdir$sysconfdir/postern"
if [ "$sysconfdir" = /etc ]; then
	keep 0644 "$srcdir/postern.conf.example" "$sysconfdir/postern/postern.conf"
else
	sed -e "s#^\\#\\(ssl_cert\\|ssl_key\\) = </etc/postern/#\\1 = <$sysconfdir/postern/#" \
	    "$srcdir/postern.conf.example" > "$manifest.conf"
	keep 0644 "$manifest.conf" "$sysconfdir/postern/postern.conf"
fi

put 0755 "$srcdir/tools/postern-mkcert" "$sbindir/postern-mkcert" subst

# The fail2ban filter goes where fail2ban looks, if fail2ban is there.
# Local changes belong in filter.d/postern.local, so the .conf is
# replaced, as fail2ban's own filters are. The jail is not enabled
# automatically. INSTALL says how.
if [ -d "$destdir/etc/fail2ban/filter.d" ]; then
	put 0644 "$srcdir/contrib/fail2ban/filter.d/postern.conf" \
	    /etc/fail2ban/filter.d/postern.conf
fi

put 0644 "$srcdir/INSTALL" "$docdir/INSTALL"
put 0644 "$srcdir/postern.conf.example" "$docdir/postern.conf.example"
put 0644 "$srcdir/units/postern.pam" "$docdir/pam.d/postern"
for x in pop3 pop3s imap imaps; do
	put 0644 "$srcdir/units/xinetd/$x" "$docdir/xinetd/$x" subst
done
put 0644 "$srcdir/contrib/fail2ban/filter.d/postern.conf" \
    "$docdir/fail2ban/filter.d/postern.conf"
put 0644 "$srcdir/contrib/fail2ban/jail.d/postern.conf" \
    "$docdir/fail2ban/jail.d/postern.conf"

# What was installed here, for uninstalling (see INSTALL).
echo "$docdir/installed-files" >> "$manifest"
echo "$docdir/config-files" >> "$manifest"
install -d -m 0755 "$destdir$docdir"
sort -u "$manifest" > "$destdir$docdir/installed-files"
sort -u "$conffiles" > "$destdir$docdir/config-files"
chmod 0644 "$destdir$docdir/installed-files" "$destdir$docdir/config-files"

if [ -z "$destdir" ] && [ "$(id -u)" = 0 ]; then
	if command -v systemd-sysusers >/dev/null 2>&1; then
		systemd-sysusers "$sysusersdir/postern.conf"
	fi
	if command -v systemd-tmpfiles >/dev/null 2>&1; then
		systemd-tmpfiles --create "$tmpfilesdir/postern.conf"
	fi
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload
	fi
	cat <<EOF
postern is installed. Next steps (INSTALL explains each one):
  $sbindir/postern-mkcert          # or point ssl_cert/ssl_key at your certificate
  systemctl enable --now pop3s.socket
EOF
fi
