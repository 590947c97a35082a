#!/bin/sh
# Packs hyve's Linux test guest: busybox (static), guest/linux/init and the
# virtio modules of kernel KVER, as an uncompressed newc cpio for --initrd.
#   guest/linux/build-initramfs.sh OUT.cpio [KVER]
# KVER defaults to the newest kernel with modules in /lib/modules.  Needs
# busybox-static and cpio (scripts/setup.sh installs them).
set -eu
out=${1:?usage: build-initramfs.sh OUT.cpio [KVER]}
here=$(cd "$(dirname "$0")" && pwd)
kver=${2:-$(ls /lib/modules | sort -V | tail -n 1)}
mods=/lib/modules/$kver/kernel
[ -d "$mods" ] || { echo "no modules for kernel $kver in /lib/modules" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "busybox is not installed (busybox-static)" >&2; exit 1; }
root=$(mktemp -d "${TMPDIR:-/tmp}/hyve-initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root/bin" "$root/lib/mod" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp /bin/busybox "$root/bin/busybox"
cp "$here/init" "$root/init"
chmod 755 "$root/init"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio \
    drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci_legacy_dev \
    drivers/virtio/virtio_pci drivers/block/virtio_blk net/core/failover \
    drivers/net/net_failover drivers/net/virtio_net; do
	# Debian may compress modules; the initramfs keeps them plain.
	if [ -f "$mods/$m.ko" ]; then
		cp "$mods/$m.ko" "$root/lib/mod/"
	elif [ -f "$mods/$m.ko.xz" ]; then
		xz -dc "$mods/$m.ko.xz" >"$root/lib/mod/${m##*/}.ko"
	else
		echo "kernel $kver has no module $m" >&2
		exit 1
	fi
done
(cd "$root" && find . | sort | cpio -o -H newc --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
