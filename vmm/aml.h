/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * A small ACPI Machine Language encoder (ACPI 6.5, chapter 20 "ACPI
 * Machine Language Specification" and 6.4 "Resource Data Types"), for the
 * DSDT hyve builds (vmm/acpi.c).  It writes the byte stream an ASL
 * compiler would for the same source: names as NameSeg / DualNamePath /
 * MultiNamePath, integers in their smallest encoding, PkgLength in as few
 * bytes as the length needs.
 *
 * The builder is sticky: every call returns 0 or the first error seen so
 * far (-ENOMEM, -EINVAL for a bad name or an unbalanced aml_end(),
 * -E2BIG past the limits of the encoding), and does nothing once an error
 * is recorded, so a caller may emit a whole table and check once, with
 * aml_finish().
 *
 * Objects that contain others (Scope, Device, Method, Package) are opened
 * with their function and closed with aml_end(), which fills in the
 * PkgLength.  Name() and Return are followed by the one object they take.
 * A resource template is built in a struct aml of its own with the
 * aml_res_*() descriptors and aml_res_end(), then emitted with
 * aml_buffer().
 */
#ifndef HYVE_AML_H
#define HYVE_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH	16

struct aml {
	uint8_t	*buf;
	size_t	 len, cap;
	size_t	 open[AML_MAX_DEPTH];	/* where each open PkgLength goes */
	unsigned depth;
	int	 err;
};

void aml_init(struct aml *a);
void aml_fini(struct aml *a);
/* 0 when everything was encoded and every object closed, else the error. */
int aml_finish(const struct aml *a);

/* Raw bytes (table contents that are not AML objects). */
int aml_bytes(struct aml *a, const void *p, size_t len);

/*
 * NameString: "\\" for the root, a leading "\\" or "^"s, then NameSegs
 * separated by '.'; a NameSeg is 1-4 of A-Z, 0-9, '_' not starting with
 * a digit, padded with '_' ("_S5" is "_S5_").
 */
int aml_namestring(struct aml *a, const char *path);
/* ZeroOp, OneOp, BytePrefix, WordPrefix, DWordPrefix or QWordPrefix. */
int aml_int(struct aml *a, uint64_t v);
/* EisaId ("PNP0A03"): three capitals and four hex digits, as a DWord. */
int aml_eisaid(struct aml *a, const char *id);
/* Buffer () of @len bytes (a resource template: r.buf, r.len). */
int aml_buffer(struct aml *a, const void *data, size_t len);

/* Name (@name, <next object>) */
int aml_name(struct aml *a, const char *name);
/* Return (<next object>) */
int aml_return(struct aml *a);

/* Opened here, closed by aml_end(). */
int aml_scope(struct aml *a, const char *name);
int aml_device(struct aml *a, const char *name);
int aml_method(struct aml *a, const char *name, unsigned nargs,
    bool serialized);
/* Package (@nelem) with up to 255 elements, which follow. */
int aml_package(struct aml *a, unsigned nelem);
int aml_end(struct aml *a);

/*
 * Resource descriptors (section 6.4).  Every address space descriptor has
 * a fixed minimum and maximum, positive decode, granularity and
 * translation 0, and the length max - min + 1; @producer is true for a
 * bridge's windows (ResourceProducer), false for what a device uses.
 */
int aml_res_irq_noflags(struct aml *r, unsigned irq);		/* IRQNoFlags () { irq } */
int aml_res_io(struct aml *r, uint16_t min, uint16_t max, uint8_t align,
    uint8_t len);						/* IO (Decode16, ...) */
int aml_res_word_bus(struct aml *r, bool producer, uint16_t min,
    uint16_t max);						/* WordBusNumber */
int aml_res_word_io(struct aml *r, bool producer, uint16_t min,
    uint16_t max);						/* WordIO, EntireRange */
int aml_res_dword_mem(struct aml *r, bool producer, uint32_t min,
    uint32_t max);				/* DWordMemory, NonCacheable, ReadWrite */
int aml_res_qword_mem(struct aml *r, bool producer, uint64_t min,
    uint64_t max);				/* QWordMemory, NonCacheable, ReadWrite */
/* Interrupt (ResourceConsumer, ...) { gsi } */
int aml_res_interrupt(struct aml *r, uint32_t gsi, bool edge, bool active_low,
    bool shared);
/* EndTag, with the checksum that makes the template's bytes sum to 0. */
int aml_res_end(struct aml *r);

#endif /* HYVE_AML_H */
