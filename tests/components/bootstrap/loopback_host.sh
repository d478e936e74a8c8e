#!/usr/bin/env bash
# Start throw-away test hosts for tests/components/bootstrap. Run under `unshare --mount --net --propagation private --fork`:
# the network namespace is private (its own loopback, and its own net.* sysctls, which the bootstrap really sets);
# the mount namespace is private (nothing here is visible to, or left on, the machine running the tests).
#
# usage: loopback_host.sh WORKDIR NAME=ADDRESS...
# For each NAME: a copy-on-write root file system (overlayfs: this machine's / read-only below, a tmpfs above),
# WORKDIR/NAME/seed copied in, /proc, /dev, /sys, a private tmpfs over /sys/module (so loaded modules can be
# recorded), and an sshd listening on ADDRESS:22 inside it. Writes WORKDIR/ready, then waits until killed.
set -euo pipefail
workdir=$1
shift
ip link set lo up
for spec in "$@"; do
  name=${spec%%=*}
  address=${spec#*=}
  base=$workdir/$name
  root=$base/root
  mkdir -p "$base/layer" "$root"
  mount -t tmpfs -o mode=0755 tmpfs "$base/layer"
  mkdir -p "$base/layer/upper" "$base/layer/work"
  mount -t overlay overlay -o "lowerdir=/,upperdir=$base/layer/upper,workdir=$base/layer/work" "$root"
  rm -f "$root/etc/apt/sources.list" "$root"/etc/apt/sources.list.d/* # an offline host: only the test mirror
  cp -a "$base/seed/." "$root/"
  mount -t proc proc "$root/proc"
  mount --rbind /dev "$root/dev"
  mount --rbind /sys "$root/sys"
  mount -t tmpfs -o mode=0755 tmpfs "$root/sys/module"
  for module in /sys/module/*; do mkdir "$root/sys/module/${module##*/}"; done
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  mkdir -p "$root/run/sshd"
  sed -i "s/^ListenAddress .*/ListenAddress $address:22/" "$root/etc/ssh/mlops-test/sshd_config"
  chroot "$root" /usr/sbin/sshd -D -e -f /etc/ssh/mlops-test/sshd_config 2>>"$base/sshd.log" &
done
echo "$$" >"$workdir/ready"
wait
