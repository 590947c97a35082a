# libckp: portable checkpoint library (no Linux/KVM headers).
CKP_SRCS := $(wildcard lib/ckp/*.c)
CKP_OBJS := $(CKP_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCKP   := $(BUILD)/libckp.a

$(LIBCKP): $(CKP_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

.PHONY: libckp
libckp: $(LIBCKP)
all: libckp
