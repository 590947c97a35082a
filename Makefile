# hyve: top-level build.  `make` builds the release programs into $(BUILD)/:
#   hyve, hyvectl, ckp, guest.elf, libckp.a, libckp.so.1 (and the benchmarks)
# `make lib` builds libckp alone; `make install PREFIX=... DESTDIR=...`
# installs the programs, the library, its header and ckp.pc, and the man pages.
# `make testbins` builds the test build into $(BUILD)/test/: the same
# sources with the test hooks (-DHYVE_TEST_HOOKS -DCKP_TEST_HOOKS), and the
# unit tests; `make test` (or `make check`) builds both and runs the suite
# (tests/run.sh).
# `make SAN=1 ...` builds with ASan+UBSan into build-san/.
# Each component keeps its rules in its own fragment (*/*.mk).

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
CWARN    := -Wall -Wextra -Werror
CPPFLAGS := -Iinclude -MMD -MP
CFLAGS   := $(OPT) -g $(CWARN)
# libckp's keyed checkpoint stream (AES-GCM, HKDF) needs libcrypto.
# `make lib CKP_CRYPTO=0` builds libckp on C11 + POSIX + libxxhash alone (a
# key is then refused with -ENOTSUP); hyve and its tests keep the default.
CKP_CRYPTO ?= 1
CKP_CRYPTO_LIBS := $(if $(filter 0,$(CKP_CRYPTO)),,-lcrypto)
LDLIBS   := -lxxhash $(CKP_CRYPTO_LIBS) -lpthread

ifeq ($(SAN),1)
BUILD    := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# The hooks tests drive (fault injection, delays, a forbidden system call
# on request) exist only in a test build: release programs carry none.
ifeq ($(TEST_HOOKS),1)
CPPFLAGS += -DHYVE_TEST_HOOKS -DCKP_TEST_HOOKS
endif

# Per top-level directory language settings.  lib/ stays portable: C11 and
# POSIX.1-2008 are all it needs.  Where the system's headers show them it
# also uses hole seeking (SEEK_DATA), hole punching, O_DIRECT and
# sync_file_range (each under #ifdef, with a portable fallback); glibc shows
# them only under _GNU_SOURCE.  `make lib CKP_EXTENSIONS=` builds on POSIX
# alone: correct, but RAM files are read through their holes and zeros are
# written where holes would be punched.
CKP_EXTENSIONS ?= $(if $(filter Linux,$(shell uname -s)),-D_GNU_SOURCE)
CFLAGS_lib     := -std=c11 -D_POSIX_C_SOURCE=200809L $(CKP_EXTENSIONS) \
	$(if $(filter 0,$(CKP_CRYPTO)),-DCKP_CRYPTO=0)
CFLAGS_vmm     := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices
CFLAGS_devices := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices
CFLAGS_tools   := -std=gnu11 -D_GNU_SOURCE -Ivmm
CFLAGS_tests   := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices -Ilib/ckp
CFLAGS_bench   := -std=gnu11 -D_GNU_SOURCE -Ivmm -Ilib/ckp

.PHONY: all test check clean testbins testprogs soak
all:

# Objects, unit-test programs and archives are kept between builds.
.SECONDARY:

# `make install`: every fragment adds what it installs (install-* targets)
# under $(DESTDIR)$(PREFIX).  hyve and hyvectl go to bin/ like ckp, not
# sbin/: they are made to run as an ordinary user with access to /dev/kvm
# (a control socket directory per user), as qemu-system-* in /usr/bin is,
# and Debian's PATH has no sbin/ for users.  HYVE_BINDIR=$(PREFIX)/sbin
# puts them where bhyve and bhyvectl are on FreeBSD.
PREFIX       ?= /usr/local
BINDIR       ?= $(PREFIX)/bin
HYVE_BINDIR  ?= $(BINDIR)
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
MANDIR       ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
INSTALL      ?= install
.PHONY: install

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(SANFLAGS) $(CFLAGS_$(firstword $(subst /, ,$<))) -c $< -o $@

include lib/ckp/ckp.mk
include vmm/vmm.mk
include tools/tools.mk
include guest/guest.mk
include tests/tests.mk
include bench/bench.mk
include fuzz/fuzz.mk

# The test build is this Makefile again, in $(BUILD)/test with TEST_HOOKS=1.
ifneq ($(TEST_HOOKS),1)
testbins:
	+$(MAKE) --no-print-directory BUILD=$(BUILD)/test TEST_HOOKS=1 testprogs
endif
testprogs: libckp hyve tools guest unit

# `make check` is the GNU Coding Standards' name for the same thing.
test check: all testbins
	tests/run.sh $(BUILD)

# Not in every CI run: 100 suspend/restore cycles (CI runs 20), and the
# Linux guest's 100 where KVM is hardware-assisted.
soak: all testbins
	HYVE_CYCLES=100 LINUX_CYCLES=100 HYVE_CRASHES=100 \
		ONLY='ckp_cycles|ckp_crash_kill|linux_cycles' \
		tests/run.sh $(BUILD)

# Only a release build is installed: not one with the sanitizers (no shared
# library, programs that need the sanitizer runtimes) nor with test hooks.
ifeq ($(filter 1,$(SAN) $(TEST_HOOKS)),)
install: install-lib install-tools install-hyve
else
install:
	@echo "make install: installs the release build only (not SAN=1 or TEST_HOOKS=1)" >&2; exit 2
endif

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
