# Benchmarks: every bench/*.c is one program (bench/run.sh runs them).
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(UNIT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $^ $(LDLIBS) $(HYVE_LDLIBS) -ljson-c

.PHONY: benchbins
benchbins: $(BENCH_BINS)
all: benchbins
