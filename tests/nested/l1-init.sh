#!/bin/busybox sh
# /init of L1, the hardware-assisted KVM host that tests/nested/run.sh boots
# under QEMU (TCG with emulated AMD SVM).  L1 runs the Debian kernel of the
# machine that started it; its userland is that machine's own root file
# system, shared read-only over virtio-9p ("host") with a tmpfs on top
# (overlayfs), so the tests run with the same bash, iproute2, python3 and
# hyve build as on the machine itself.  A second, writable share ("io")
# carries the plan in and the results out.  The console (ttyS0) is what
# run.sh watches: one NESTED-* line per event.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
say() { echo "NESTED-$*"; }
up() { cut -d' ' -f1 /proc/uptime; }
die() { say "FATAL $*"; poweroff -f; }

say "INIT uptime=$(up)"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
    virtio_pci netfs fscache 9pnet 9pnet_virtio 9p overlay; do
	insmod /mod/$m.ko || die "insmod $m"
done
# The 9p devices appear asynchronously after virtio_pci binds them.
i=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 \
    host /host 2>/dev/null; do
	i=$((i + 1)); [ $i -lt 50 ] || die "cannot mount the host's root over 9p"
	sleep 0.1
done
mount -t tmpfs -o size=90% tmpfs /ov || die "tmpfs"
mkdir -p /ov/upper /ov/work
mount -t overlay -o lowerdir=/host,upperdir=/ov/upper,workdir=/ov/work \
    overlay /newroot || die "overlay root"
mount -t proc proc /newroot/proc
mount -t sysfs sys /newroot/sys
mount -t devtmpfs dev /newroot/dev
mkdir -p /newroot/dev/pts /newroot/dev/shm
# What udev would make: bash's <(...) needs /dev/fd.
ln -sf /proc/self/fd /newroot/dev/fd
ln -sf /proc/self/fd/0 /newroot/dev/stdin
ln -sf /proc/self/fd/1 /newroot/dev/stdout
ln -sf /proc/self/fd/2 /newroot/dev/stderr
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
# No tmpfs on /tmp: the overlay already makes it writable, and a tree
# under the machine's /tmp (a CI clone) must stay visible to L1.
mount -t tmpfs tmpfs /newroot/run
mkdir -p /newroot/nested-io
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000 io /newroot/nested-io ||
	die "cannot mount the io share"
[ -f /newroot/nested-io/env ] || die "no plan in the io share"
say "ROOT uptime=$(up)"
chroot /newroot /bin/bash /nested-io/l1-run.sh
say "POWEROFF uptime=$(up)"
sync
poweroff -f
