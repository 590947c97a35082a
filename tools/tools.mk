# Command-line tools: ckp (checkpoint tool) and hyvectl (control tool).
CKPTOOL_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/ckp/*.c))
HYVECTL_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/hyvectl/*.c))

$(BUILD)/ckp: $(CKPTOOL_OBJS) $(LIBCKP)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

# hyvectl connects to a migration's destination with hyve's own parser.
$(BUILD)/hyvectl: $(HYVECTL_OBJS) $(BUILD)/obj/vmm/migaddr.o $(LIBCKP)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: tools
ifneq ($(CKPTOOL_OBJS),)
tools: $(BUILD)/ckp
endif
ifneq ($(HYVECTL_OBJS),)
tools: $(BUILD)/hyvectl
endif
all: tools

.PHONY: install-tools
install-tools: $(BUILD)/ckp $(BUILD)/hyvectl
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(HYVE_BINDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL) -m 0755 $(BUILD)/ckp $(DESTDIR)$(BINDIR)/ckp
	$(INSTALL) -m 0755 $(BUILD)/hyvectl $(DESTDIR)$(HYVE_BINDIR)/hyvectl
	$(INSTALL) -m 0644 docs/ckp.1 $(DESTDIR)$(MANDIR)/man1/ckp.1
	$(INSTALL) -m 0644 docs/hyvectl.8 $(DESTDIR)$(MANDIR)/man8/hyvectl.8
