# hyve: the VMM (vmm/) and its device models (devices/).
HYVE_SRCS := $(wildcard vmm/*.c devices/*.c)
HYVE_OBJS := $(HYVE_SRCS:%.c=$(BUILD)/obj/%.o)
HYVE_MAIN := $(BUILD)/obj/vmm/main.o
LIBHYVE   := $(BUILD)/libhyve.a
# The sandbox's filters (vmm/sandbox.c): whatever links libhyve needs it.
HYVE_LDLIBS := -lseccomp

$(LIBHYVE): $(filter-out $(HYVE_MAIN),$(HYVE_OBJS))
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/hyve: $(HYVE_MAIN) $(LIBHYVE) $(LIBCKP)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) $(HYVE_LDLIBS)

.PHONY: hyve
ifneq ($(wildcard vmm/main.c),)
hyve: $(BUILD)/hyve
all: hyve
endif

.PHONY: install-hyve
install-hyve: $(BUILD)/hyve
	$(INSTALL) -d $(DESTDIR)$(HYVE_BINDIR) $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(BUILD)/hyve $(DESTDIR)$(HYVE_BINDIR)/hyve
	$(INSTALL) -m 0644 docs/hyve.8 $(DESTDIR)$(MANDIR)/man8/hyve.8
