#!/usr/bin/env bash
# Installs every Debian 12 package hyve needs to build, test, fuzz and
# benchmark.  Safe to run again; does nothing when all are present.
set -euo pipefail
PKGS=(
	build-essential		# gcc, make
	pkg-config groff-base	# tests/e2e/libckp_install.sh: ckp.pc, the man pages render
	clang llvm libclang-rt-14-dev	# libFuzzer, sanitizer runtimes
	libxxhash-dev		# XXH3 checksums (libckp)
	libssl-dev		# libcrypto: the checkpoint stream's AES-256-GCM and HKDF (libckp)
	libseccomp-dev		# hyve's per-thread system call filters (docs/SANDBOX.md)
	libjson-c-dev		# baseline parser in bench/ only
	iproute2 iputils-ping	# network namespaces, tap devices, ICMP from the peer
	jq xxd python3		# tests inspect JSON and bytes, drive QMP
	python3-cryptography	# a keyed stream source of its own in tests/e2e/mig_in_frames.py
	acpica-tools		# iasl and acpiexec check hyve's AML
	qemu-system-x86		# the peer VMM in bench/ and guest checks; L1 of tests/nested
	linux-image-amd64 xz-utils	# a stock kernel: Linux guest tests, boot_linux.sh, L1
	busybox-static cpio	# the Linux guest's and L1's initramfs
	hyperfine procps
)
names=()
for p in "${PKGS[@]}"; do names+=("$p"); done
missing=()
for p in "${names[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	echo "setup: all packages present"
	exit 0
fi
echo "setup: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
