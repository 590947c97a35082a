# The test guest: a freestanding PVH ELF (guest/).  Rules live here so the
# guest's flags never mix with the host's: no sanitizers, no host headers,
# no SSE (CPL0 code is emulated instruction by instruction on the project's
# machines and the emulator does not cover every vector instruction).
GUEST_ELF := $(BUILD)/guest.elf
GUEST_CC  ?= gcc
GUEST_OBJDIR := $(BUILD)/guest
GUEST_SRCS := $(wildcard guest/*.c guest/*.S)
GUEST_OBJS := $(patsubst guest/%,$(GUEST_OBJDIR)/%.o,$(GUEST_SRCS))
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror \
	-ffreestanding -fno-builtin -nostdinc -isystem $(shell $(GUEST_CC) -print-file-name=include) \
	-fno-pic -fno-pie -fno-stack-protector -fno-asynchronous-unwind-tables \
	-fcf-protection=none -mno-red-zone -mgeneral-regs-only -mcmodel=small \
	-fno-omit-frame-pointer --param=min-pagesize=0 -MMD -MP -Iguest
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,guest/guest.ld \
	-Wl,-z,max-page-size=0x1000 -Wl,--build-id=none -Wl,--no-warn-rwx-segments

$(GUEST_OBJDIR)/%.c.o: guest/%.c
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_OBJDIR)/%.S.o: guest/%.S
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(GUEST_ELF): $(GUEST_OBJS) guest/guest.ld
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS) -lgcc

# Host helper for tests: XXH64 of the first N bytes of a file (the checksum
# the guest's copy workload prints).
GUEST_XXH := $(BUILD)/guest/xxh64sum
$(GUEST_XXH): guest/tools/xxh64sum.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -Wextra -Werror -o $@ $< -lxxhash

.PHONY: guest
guest: $(GUEST_ELF) $(GUEST_XXH)
all: guest

-include $(wildcard $(GUEST_OBJDIR)/*.d)
