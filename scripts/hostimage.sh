#!/usr/bin/env bash
# Build (once) the Debian bookworm root filesystem that every conntune test host boots from.
# The result is shared read-only by all hosts through overlays; each host gets its own upper layer.
#
#   scripts/hostimage.sh     build if missing, print the rootfs path on stdout
#
# Cached under $CONNTUNE_CACHE/rootfs (default /var/cache/conntune/rootfs). The recipe revision is
# part of the directory name: change RECIPE when the package list changes.
set -euo pipefail

CACHE=${CONNTUNE_CACHE:-/var/cache/conntune}
RECIPE=4
BASE="$CACHE/rootfs/bookworm-r$RECIPE"
# openssh + systemd for the hosts themselves; python3 so that Ansible (the benchmark baseline) can
# manage them; redis-server for the Redis-on-a-VM target (disabled at boot, tests start it).
PACKAGES="openssh-server systemd systemd-sysv dbus libpam-systemd iproute2 procps sudo python3 redis-server kmod"

log() { printf '[hostimage %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf '[hostimage] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -f "$BASE/.conntune-ready" ]; then
  echo "$BASE"; exit 0
fi

[ "$(id -u)" = 0 ] || die "building the test-host image needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap is missing: run scripts/setup.sh (apt-get install debootstrap)"

# The mirror this machine already uses (no other host is reachable).
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$MIRROR" ] || die "no Debian mirror found in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"

TMP="$BASE.tmp.$$"
cleanup() { umount -l "$TMP/proc" 2>/dev/null || true; rm -rf "$TMP"; }
trap cleanup EXIT
mkdir -p "$CACHE/rootfs"
start=$SECONDS
log "debootstrap bookworm (minbase) from $MIRROR into $TMP (about 30 s)"
debootstrap --variant=minbase bookworm "$TMP" "$MIRROR" >"$CACHE/rootfs/debootstrap.log" 2>&1 \
  || { tail -n 20 "$CACHE/rootfs/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/rootfs/debootstrap.log)"; }

log "installing $PACKAGES (about 20 s)"
# Services must not start inside the build chroot.
printf '#!/bin/sh\nexit 101\n' >"$TMP/usr/sbin/policy-rc.d"; chmod +x "$TMP/usr/sbin/policy-rc.d"
mount -t proc proc "$TMP/proc"
chroot "$TMP" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $PACKAGES \
  >"$CACHE/rootfs/packages.log" 2>&1 || { tail -n 20 "$CACHE/rootfs/packages.log" >&2; die "package install in the host image failed"; }
chroot "$TMP" apt-get clean
umount "$TMP/proc"

# Per-host identity is created at boot time by the harness: no shared machine-id or host keys.
: >"$TMP/etc/machine-id"
rm -f "$TMP"/etc/ssh/ssh_host_*
rm -f "$TMP/usr/sbin/policy-rc.d"
# redis-server is installed for the Redis tests but does not start on every host boot.
chroot "$TMP" systemctl disable redis-server.service >/dev/null 2>&1 || true
# A non-root operator account (sudo with a password, set per host by the harness).
chroot "$TMP" useradd --create-home --shell /bin/bash --groups sudo tuner
# Faster boots: nothing in the hosts needs these.
chroot "$TMP" systemctl mask systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer \
  e2scrub_all.timer fstrim.timer man-db.timer systemd-remount-fs.service >/dev/null 2>&1 || true
echo "conntune-test-host" >"$TMP/etc/hostname"
touch "$TMP/.conntune-ready"
mv "$TMP" "$BASE"
trap - EXIT
log "image ready in $((SECONDS - start)) s: $BASE ($(du -sh "$BASE" | cut -f1))"
echo "$BASE"
