# Fuzz targets (libFuzzer): every fuzz/fuzz_*.c, built with clang into
# build-fuzz/.  `make fuzz FUZZ_SECONDS=N` builds and runs each for N s.
# fuzz_hyve_*.c drive VMM or device code: they link hyve's sources (but
# not its main) as well as libckp's.
FUZZ_SECONDS ?= 30
FUZZ_BUILD   := build-fuzz
FUZZ_SRCS    := $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS    := $(patsubst fuzz/%.c,$(FUZZ_BUILD)/%,$(FUZZ_SRCS))
# Fuzzers drive the code through its test hooks (vmm/vm_test.h).
FUZZ_FLAGS   := -g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -Ilib/ckp \
		-DHYVE_TEST_HOOKS -DCKP_TEST_HOOKS \
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

FUZZ_HYVE_SRCS := $(filter-out vmm/main.c,$(HYVE_SRCS))

$(FUZZ_BUILD)/fuzz_hyve_%: fuzz/fuzz_hyve_%.c $(CKP_SRCS) $(FUZZ_HYVE_SRCS) include/ckp.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -std=gnu11 -Ivmm -Idevices -o $@ $< $(CKP_SRCS) \
	    $(FUZZ_HYVE_SRCS) $(LDLIBS) $(HYVE_LDLIBS)

$(FUZZ_BUILD)/%: fuzz/%.c $(CKP_SRCS) include/ckp.h
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $< $(CKP_SRCS) $(LDLIBS)

.PHONY: fuzz fuzzbins
fuzzbins: $(FUZZ_BINS)
fuzz: $(FUZZ_BINS)
	fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)
