# hyve: top-level build.  `make` builds everything into $(BUILD)/:
#   hyve, hyvectl, ckp, guest.elf, libckp.a
# `make test` builds and runs the test suite (tests/run.sh).
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

# Per top-level directory language settings.  lib/ stays portable C11+POSIX.
CFLAGS_lib     := -std=c11 -D_GNU_SOURCE
CFLAGS_vmm     := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices
CFLAGS_devices := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices
CFLAGS_tools   := -std=gnu11 -D_GNU_SOURCE -Ivmm
CFLAGS_tests   := -std=gnu11 -D_GNU_SOURCE -Ivmm -Idevices -Ilib/ckp
CFLAGS_bench   := -std=gnu11 -D_GNU_SOURCE -Ivmm -Ilib/ckp

.PHONY: all test check clean
all:

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

test: all
	tests/run.sh $(BUILD)

clean:
	rm -rf build build-san build-fuzz

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)
