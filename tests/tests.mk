# Unit tests: every tests/unit/test_*.c is one program, linked with libhyve
# (when present) and libckp.  They use the test hooks: built only in a test
# build (make testbins: $(BUILD)/test/tests/).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_COMMON := $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(UNIT_SRCS),$(wildcard tests/unit/*.c)))
UNIT_LIBS := $(if $(HYVE_SRCS),$(LIBHYVE)) $(LIBCKP)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_COMMON) $(UNIT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) $(if $(HYVE_SRCS),$(HYVE_LDLIBS))

.PHONY: unit
unit: $(UNIT_BINS)
ifeq ($(TEST_HOOKS),1)
all: unit
endif
