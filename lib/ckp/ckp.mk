# libckp: portable checkpoint library (no Linux/KVM headers).
# `make lib` builds it alone: $(BUILD)/libckp.a, which hyve and the tools
# link, and the shared library other programs link (libckp.so.1).
CKP_SRCS := $(wildcard lib/ckp/*.c)
CKP_OBJS := $(CKP_SRCS:%.c=$(BUILD)/obj/%.o)
LIBCKP   := $(BUILD)/libckp.a

# The shared library's ABI: bump CKP_SOVERSION when a change breaks
# programs linked against an older libckp.so (a removed or changed
# function, type or constant of include/ckp.h); CKP_VERSION's minor for
# additions.  ckp.pc says CKP_VERSION.
CKP_SOVERSION := 1
CKP_VERSION   := 1.1.0
CKP_SONAME    := libckp.so.$(CKP_SOVERSION)
LIBCKP_SO     := $(BUILD)/libckp.so.$(CKP_VERSION)
# Position-independent objects of their own, so that the static library
# (and hyve, the tools and the benchmarks) keep the code they always had.
# -fvisibility=hidden: only what include/ckp.h declares is exported (it
# says so with a visibility pragma); the ckp__* internals are not.
CKP_PIC_OBJS  := $(CKP_SRCS:%.c=$(BUILD)/obj-pic/%.o)
CKP_LIBS      := -lxxhash $(CKP_CRYPTO_LIBS) -lpthread

# An object does not say which flags built it: the stamp changes with
# them, so that `make lib CKP_CRYPTO=0` (or CKP_EXTENSIONS=) followed by
# `make` in the same build directory never links hyve against the other
# libckp.
CKP_FLAGS_STAMP := $(BUILD)/obj/lib/ckp.flags
$(CKP_OBJS) $(CKP_PIC_OBJS): $(CKP_FLAGS_STAMP)
.PHONY: ckp-flags-check
$(CKP_FLAGS_STAMP): ckp-flags-check
	@mkdir -p $(@D)
	@echo '$(CFLAGS_lib)' | cmp -s - $@ || echo '$(CFLAGS_lib)' > $@

$(LIBCKP): $(CKP_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/obj-pic/lib/ckp/%.o: lib/ckp/%.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(CFLAGS_lib) -fPIC -fvisibility=hidden -c $< -o $@

# -z defs: an undefined symbol is a link error here, not a user's surprise.
$(LIBCKP_SO): $(CKP_PIC_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(CKP_SONAME) -Wl,-z,defs \
	    -o $@ $^ $(CKP_LIBS)

$(BUILD)/$(CKP_SONAME) $(BUILD)/libckp.so: $(LIBCKP_SO)
	ln -sf $(notdir $<) $@

.PHONY: libckp lib
libckp: $(LIBCKP)
lib: libckp
# An ASan+UBSan shared library would need every program that loads it to
# be built with the sanitizers too: SAN=1 builds the static library only.
ifneq ($(SAN),1)
lib: $(LIBCKP_SO) $(BUILD)/$(CKP_SONAME) $(BUILD)/libckp.so
endif
all: lib

-include $(shell find $(BUILD)/obj-pic -name '*.d' 2>/dev/null)

# ckp.pc names directories under the prefix through ${prefix}, so that
# pkg-config's --define-prefix and sysroot handling can move them.
CKP_PC_SED := -e 's|@PREFIX@|$(PREFIX)|' \
	-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|' \
	-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|' \
	-e 's|@VERSION@|$(CKP_VERSION)|' \
	-e 's|@CRYPTO@|$(if $(CKP_CRYPTO_LIBS), libcrypto)|'

.PHONY: install-lib
install-lib: lib
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) \
	    $(DESTDIR)$(PKGCONFIGDIR) $(DESTDIR)$(MANDIR)/man3
	$(INSTALL) -m 0644 $(LIBCKP) $(DESTDIR)$(LIBDIR)/libckp.a
	$(INSTALL) -m 0755 $(LIBCKP_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBCKP_SO)) $(DESTDIR)$(LIBDIR)/$(CKP_SONAME)
	ln -sf $(CKP_SONAME) $(DESTDIR)$(LIBDIR)/libckp.so
	$(INSTALL) -m 0644 include/ckp.h $(DESTDIR)$(INCLUDEDIR)/ckp.h
	sed $(CKP_PC_SED) lib/ckp/ckp.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/ckp.pc
	chmod 0644 $(DESTDIR)$(PKGCONFIGDIR)/ckp.pc
	$(INSTALL) -m 0644 docs/libckp.3 $(DESTDIR)$(MANDIR)/man3/libckp.3
