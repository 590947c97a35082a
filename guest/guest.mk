# The test guest: a freestanding PVH ELF (guest/).  Rules live here so the
# guest's flags never mix with the host's.
GUEST_ELF := $(BUILD)/guest.elf
