# Command-line tools: ckp (checkpoint tool) and hyvectl (control tool).
CKPTOOL_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/ckp/*.c))
HYVECTL_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard tools/hyvectl/*.c))

$(BUILD)/ckp: $(CKPTOOL_OBJS) $(LIBCKP)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/hyvectl: $(HYVECTL_OBJS) $(LIBCKP)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS)

.PHONY: tools
ifneq ($(CKPTOOL_OBJS),)
tools: $(BUILD)/ckp
endif
ifneq ($(HYVECTL_OBJS),)
tools: $(BUILD)/hyvectl
endif
all: tools
