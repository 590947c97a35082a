# hyve: top-level build.  `make` builds the release programs into $(BUILD)/:
#   hyve, hyvectl, ckp, guest.elf, libckp.a (and the benchmarks)
# `make testbins` builds the test build into $(BUILD)/test/: the same
# sources with the test hooks (-DHYVE_TEST_HOOKS -DCKP_TEST_HOOKS), and the
# unit tests; `make test` builds both and runs the suite (tests/run.sh).
# `make SAN=1 ...` builds with ASan+UBSan into build-san/.
# Each component keeps its rules in its own fragment (*/*.mk).

BUILD    ?= build
CC       ?= cc
OPT      ?= -O2
CWARN    := -Wall -Wextra -Werror
CPPFLAGS := -Iinclude -MMD -MP
CFLAGS   := $(OPT) -g $(CWARN)
LDLIBS   := -lxxhash -lpthread

ifeq ($(SAN),1)
BUILD    := build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# The hooks tests drive (fault injection, delays, a forbidden system call
# on request) exist only in a test build: release programs carry none.
ifeq ($(TEST_HOOKS),1)
CPPFLAGS += -DHYVE_TEST_HOOKS -DCKP_TEST_HOOKS
endif

# Per top-level directory language settings.  lib/ stays portable C11+POSIX.
CFLAGS_lib     := -std=c11 -D_GNU_SOURCE
CFLAGS_vmm     := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices
CFLAGS_devices := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices
CFLAGS_tools   := -std=gnu11 -D_GNU_SOURCE -Ivmm
CFLAGS_tests   := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices -Ilib/ckp
CFLAGS_bench   := -std=gnu11 -D_GNU_SOURCE -Ivmm -Ilib/ckp

.PHONY: all test check clean testbins testprogs soak
all:

# Objects, unit-test programs and archives are kept between builds.
.SECONDARY:

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

test: all testbins
	tests/run.sh $(BUILD)

# Not in every CI run: 100 suspend/restore cycles (CI runs 20), and the
# Linux guest's 100 where KVM is hardware-assisted.
soak: all testbins
	HYVE_CYCLES=100 LINUX_CYCLES=100 HYVE_CRASHES=100 \
		ONLY='ckp_cycles|ckp_crash_kill|linux_cycles' \
		tests/run.sh $(BUILD)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
