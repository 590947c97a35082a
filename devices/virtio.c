/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * virtio 1.x over PCI (modern interface only) and split virtqueues.
 *
 * Every guest address goes through vm_gpa_ptr(); every descriptor is copied
 * out of guest memory once before it is checked and used, so a driver that
 * rewrites a descriptor while the device reads it cannot slip past a check.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio.h"

static int virtio_barread(struct pci_dev *pd, int bar, uint64_t off,
    unsigned size, uint64_t *val);
static int virtio_barwrite(struct pci_dev *pd, int bar, uint64_t off,
    unsigned size, uint64_t val);

const struct pci_devemu virtio_pci_devemu = {
	.barread = virtio_barread,
	.barwrite = virtio_barwrite,
};

/* ------------------------------------------------------------------------ */
/* Errors and interrupts                                                     */
/* ------------------------------------------------------------------------ */

void
virtio_config_interrupt(struct virtio_dev *vd)
{
	if (pci_msix_enabled(&vd->pci)) {
		if (vd->msix_config != VIRTIO_NO_VECTOR)
			pci_msix_notify(&vd->pci, vd->msix_config);
		return;
	}
	vd->isr |= VIRTIO_ISR_CONFIG;
	pci_intx_set(&vd->pci, true);
}

void
virtio_dev_error(struct virtio_dev *vd, struct virtqueue *vq, int desc,
    const char *fmt, ...)
{
	char msg[256], where[64] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (vq != NULL && desc >= 0)
		snprintf(where, sizeof(where), "queue %u: descriptor %d: ",
		    vq->index, desc);
	else if (vq != NULL)
		snprintf(where, sizeof(where), "queue %u: ", vq->index);
	vm_log_guest(vd->pci.vm, "%s: %s%s; queue stopped, device needs reset",
	    vd->name, where, msg);
	if (vq != NULL)
		vq->broken = true;
	if ((vd->status & VIRTIO_S_NEEDS_RESET) != 0)
		return;
	vd->status |= VIRTIO_S_NEEDS_RESET;
	if ((vd->status & VIRTIO_S_DRIVER_OK) != 0)
		virtio_config_interrupt(vd);
}

static void
virtio_raise(struct virtio_dev *vd, uint16_t vector)
{
	if (pci_msix_enabled(&vd->pci)) {
		if (vector != VIRTIO_NO_VECTOR)
			pci_msix_notify(&vd->pci, vector);
		return;
	}
	vd->isr |= VIRTIO_ISR_QUEUE;
	pci_intx_set(&vd->pci, true);
}

/* ------------------------------------------------------------------------ */
/* Virtqueues                                                                */
/* ------------------------------------------------------------------------ */

bool
vq_ready(const struct virtqueue *vq)
{
	const struct virtio_dev *vd = vq->vd;

	return (vq->enabled && !vq->broken && !vd->resetting &&
	    (vd->status & VIRTIO_S_DRIVER_OK) != 0 &&
	    (vd->status & VIRTIO_S_NEEDS_RESET) == 0 && vq->avail != NULL);
}

static uint16_t
avail_idx(const struct virtqueue *vq)
{
	return (__atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE));
}

bool
vq_has_avail(const struct virtqueue *vq)
{
	return (vq_ready(vq) && avail_idx(vq) != vq->last_avail_idx);
}

/* Read a descriptor once; tables need not be aligned for us. */
static void
desc_load(const struct vring_desc *table, unsigned i, struct vring_desc *d)
{
	memcpy(d, (const char *)table + 16 * (size_t)i, sizeof(*d));
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

int
vq_pop(struct virtqueue *vq, struct vq_chain *c)
{
	struct virtio_dev *vd = vq->vd;
	const struct vring_desc *table;
	struct vring_desc d;
	uint16_t aidx, head, pending;
	unsigned tsize, idx, n = 0;
	uint64_t total = 0;
	bool indirect = false;
	char ind[32] = "";
	int didx;

	if (!vq_ready(vq))
		return (vq->broken ? -EIO : 0);
	aidx = avail_idx(vq);
	pending = (uint16_t)(aidx - vq->last_avail_idx);
	if (pending == 0)
		return (0);
	if (pending > vq->size) {
		virtio_dev_error(vd, vq, -1, "avail index jumped from %u to %u, "
		    "more than the queue size %u", vq->last_avail_idx, aidx,
		    vq->size);
		return (-EIO);
	}
	head = __atomic_load_n(&vq->avail->ring[vq->last_avail_idx % vq->size],
	    __ATOMIC_RELAXED);
	if (head >= vq->size) {
		virtio_dev_error(vd, vq, head, "avail ring entry %u names "
		    "descriptor %u, past the queue size %u",
		    vq->last_avail_idx % vq->size, head, vq->size);
		return (-EIO);
	}
	memset(c, 0, offsetof(struct vq_chain, seg));
	c->head = head;
	table = vq->desc;
	tsize = vq->size;
	idx = head;
	didx = head;
	for (;;) {
		if (idx >= tsize) {
			virtio_dev_error(vd, vq, didx, "next descriptor %u is past "
			    "the %s table of %u", idx, indirect ? "indirect" :
			    "descriptor", tsize);
			return (-EIO);
		}
		desc_load(table, idx, &d);
		if (!indirect)
			didx = (int)idx;
		else
			snprintf(ind, sizeof(ind), "indirect entry %u: ", idx);
		if ((d.flags & VRING_DESC_F_INDIRECT) != 0) {
			if (indirect) {
				virtio_dev_error(vd, vq, didx, "indirect descriptor "
				    "%u inside an indirect table", idx);
				return (-EIO);
			}
			if ((vd->driver_features &
			    (1ULL << VIRTIO_F_INDIRECT_DESC)) == 0) {
				virtio_dev_error(vd, vq, didx, "indirect descriptor "
				    "without VIRTIO_F_INDIRECT_DESC negotiated");
				return (-EIO);
			}
			if ((d.flags & VRING_DESC_F_NEXT) != 0) {
				virtio_dev_error(vd, vq, didx, "indirect descriptor "
				    "with NEXT set");
				return (-EIO);
			}
			if (d.len == 0 || d.len % 16 != 0 ||
			    d.len / 16 > vq->size) {
				virtio_dev_error(vd, vq, didx, "indirect table "
				    "length %u is not 16..%u in steps of 16",
				    d.len, 16U * vq->size);
				return (-EIO);
			}
			table = vm_gpa_ptr(vd->pci.vm, d.addr, d.len);
			if (table == NULL) {
				virtio_dev_error(vd, vq, didx, "indirect table "
				    "0x%" PRIx64 "+0x%x is outside guest RAM",
				    d.addr, d.len);
				return (-EIO);
			}
			tsize = d.len / 16;
			indirect = true;
			idx = 0;
			continue;
		}
		if (++n > vq->size) {
			virtio_dev_error(vd, vq, didx, "chain from descriptor %u "
			    "is longer than the queue size %u (a loop?)", head,
			    vq->size);
			return (-EIO);
		}
		if (d.addr + d.len < d.addr) {
			virtio_dev_error(vd, vq, didx, "%sbuffer 0x%" PRIx64 "+0x%x "
			    "wraps around the address space", ind, d.addr,
			    d.len);
			return (-EIO);
		}
		total += d.len;
		if (total > VQ_MAX_CHAIN_BYTES) {
			virtio_dev_error(vd, vq, didx, "chain from descriptor %u "
			    "describes more than %u bytes", head,
			    VQ_MAX_CHAIN_BYTES);
			return (-EIO);
		}
		struct vq_seg *s = &c->seg[c->nseg];
		s->gpa = d.addr;
		s->len = d.len;
		s->write = (d.flags & VRING_DESC_F_WRITE) != 0;
		s->p = NULL;
		if (d.len != 0) {
			s->p = vm_gpa_ptr(vd->pci.vm, d.addr, d.len);
			if (s->p == NULL) {
				virtio_dev_error(vd, vq, didx, "%sbuffer 0x%" PRIx64
				    "+0x%x is outside guest RAM", ind, d.addr,
				    d.len);
				return (-EIO);
			}
		}
		if (s->write) {
			c->wbytes += d.len;
		} else {
			if (c->nread != c->nseg) {
				virtio_dev_error(vd, vq, didx, "%sdevice-readable "
				    "buffer after a device-writable one", ind);
				return (-EIO);
			}
			c->nread++;
			c->rbytes += d.len;
		}
		c->nseg++;
		if ((d.flags & VRING_DESC_F_NEXT) == 0)
			break;
		idx = d.next;
	}
	vq->last_avail_idx++;
	return (1);
}

void
vq_push(struct virtqueue *vq, const struct vq_chain *c, uint32_t written)
{
	struct vm *vm = vq->vd->pci.vm;
	struct vring_used_elem *e;
	uint64_t left = written;
	unsigned i;

	if (!vq->enabled || vq->used == NULL)
		return;
	for (i = c->nread; i < c->nseg && left > 0; i++) {
		uint64_t n = c->seg[i].len < left ? c->seg[i].len : left;
		vm_gpa_dirty(vm, c->seg[i].gpa, n);
		left -= n;
	}
	e = &vq->used->ring[vq->used_idx % vq->size];
	__atomic_store_n(&e->id, c->head, __ATOMIC_RELAXED);
	__atomic_store_n(&e->len, written, __ATOMIC_RELAXED);
	vm_gpa_dirty(vm, vq->used_gpa + 4 + 8ULL * (vq->used_idx % vq->size), 8);
	vq->used_idx++;
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	vm_gpa_dirty(vm, vq->used_gpa + 2, 2);
}

void
vq_interrupt(struct virtqueue *vq)
{
	if (!vq->enabled || vq->avail == NULL)
		return;
	/* Order our used->idx store before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if ((__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) &
	    VRING_AVAIL_F_NO_INTERRUPT) != 0)
		return;
	virtio_raise(vq->vd, vq->msix_vector);
}

uint64_t
vq_chain_read(const struct vq_chain *c, uint64_t off, void *buf, uint64_t len)
{
	uint64_t done = 0;
	unsigned i;

	for (i = 0; i < c->nread && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((char *)buf + done, (const char *)s->p + off, n);
		done += n;
		off = 0;
	}
	return (done);
}

uint64_t
vq_chain_write(struct virtqueue *vq, const struct vq_chain *c, uint64_t off,
    const void *buf, uint64_t len)
{
	uint64_t done = 0;
	unsigned i;

	for (i = c->nread; i < c->nseg && done < len; i++) {
		const struct vq_seg *s = &c->seg[i];
		if (off >= s->len) {
			off -= s->len;
			continue;
		}
		uint64_t n = s->len - off;
		if (n > len - done)
			n = len - done;
		memcpy((char *)s->p + off, (const char *)buf + done, n);
		vm_gpa_dirty(vq->vd->pci.vm, s->gpa + off, n);
		done += n;
		off = 0;
	}
	return (done);
}

/* Map the rings of @vq, or say why not.  @return 0 or -EINVAL (message in @why). */
static int
vq_map(struct virtio_dev *vd, struct virtqueue *vq, char *why, size_t whylen)
{
	struct vm *vm = vd->pci.vm;
	uint64_t dlen, alen, ulen;

	if (vq->size == 0 || (vq->size & (vq->size - 1)) != 0 ||
	    vq->size > vq->max_size) {
		snprintf(why, whylen, "queue size %u is not a power of two "
		    "of at most %u", vq->size, vq->max_size);
		return (-EINVAL);
	}
	dlen = 16ULL * vq->size;
	alen = 6 + 2ULL * vq->size;
	ulen = 6 + 8ULL * vq->size;
	if ((vq->desc_gpa & 15) != 0 || (vq->avail_gpa & 1) != 0 ||
	    (vq->used_gpa & 3) != 0) {
		snprintf(why, whylen, "ring addresses desc 0x%" PRIx64 " avail "
		    "0x%" PRIx64 " used 0x%" PRIx64 " are not aligned to 16, 2, 4",
		    vq->desc_gpa, vq->avail_gpa, vq->used_gpa);
		return (-EINVAL);
	}
	vq->desc = vm_gpa_ptr(vm, vq->desc_gpa, dlen);
	vq->avail = vm_gpa_ptr(vm, vq->avail_gpa, alen);
	vq->used = vm_gpa_ptr(vm, vq->used_gpa, ulen);
	if (vq->desc == NULL || vq->avail == NULL || vq->used == NULL) {
		snprintf(why, whylen, "%s ring 0x%" PRIx64 "+0x%" PRIx64
		    " is outside guest RAM", vq->desc == NULL ? "descriptor" :
		    vq->avail == NULL ? "avail" : "used", vq->desc == NULL ?
		    vq->desc_gpa : vq->avail == NULL ? vq->avail_gpa :
		    vq->used_gpa, vq->desc == NULL ? dlen : vq->avail == NULL ?
		    alen : ulen);
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return (-EINVAL);
	}
	return (0);
}

static void
vq_reset(struct virtqueue *vq)
{
	vq->size = vq->max_size;
	vq->enabled = false;
	vq->msix_vector = VIRTIO_NO_VECTOR;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->last_avail_idx = vq->used_idx = 0;
	vq->broken = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
}

/* ------------------------------------------------------------------------ */
/* Transport                                                                 */
/* ------------------------------------------------------------------------ */

static void
virtio_transport_reset_locked(struct virtio_dev *vd)
{
	unsigned i;

	vd->driver_features = 0;
	vd->device_feature_select = vd->driver_feature_select = 0;
	vd->status = 0;
	vd->isr = 0;
	vd->msix_config = VIRTIO_NO_VECTOR;
	vd->queue_select = 0;
	for (i = 0; i < vd->ops->nqueues; i++)
		vq_reset(&vd->vq[i]);
}

/* The driver wrote 0 to device_status. */
static void
virtio_driver_reset(struct virtio_dev *vd)
{
	pthread_mutex_lock(&vd->lock);
	vd->resetting = true;
	pthread_mutex_unlock(&vd->lock);
	if (vd->ops->reset != NULL)
		vd->ops->reset(vd);
	pthread_mutex_lock(&vd->lock);
	virtio_transport_reset_locked(vd);
	vd->resetting = false;
	pthread_mutex_unlock(&vd->lock);
	pci_intx_set(&vd->pci, false);
}

void
virtio_dev_reset(struct virtio_dev *vd)
{
	virtio_driver_reset(vd);
	pci_dev_reset(&vd->pci);
}

static void
virtio_status_write(struct virtio_dev *vd, uint8_t val)
{
	uint8_t old = vd->status;

	if ((val & VIRTIO_S_FEATURES_OK) != 0 &&
	    (old & VIRTIO_S_FEATURES_OK) == 0) {
		uint64_t extra = vd->driver_features & ~vd->device_features;
		if (extra != 0 || (vd->driver_features &
		    (1ULL << VIRTIO_F_VERSION_1)) == 0) {
			vm_log_guest(vd->pci.vm, "%s: FEATURES_OK refused: "
			    "driver features 0x%" PRIx64 " %s", vd->name,
			    vd->driver_features, extra != 0 ?
			    "include features the device does not offer" :
			    "lack VIRTIO_F_VERSION_1");
			val &= (uint8_t)~VIRTIO_S_FEATURES_OK;
		}
	}
	/* Only a reset clears NEEDS_RESET; FEATURES_OK cannot be taken back either. */
	val |= old & (VIRTIO_S_NEEDS_RESET | VIRTIO_S_FEATURES_OK);
	vd->status = val;
}

static void
virtio_queue_enable(struct virtio_dev *vd, struct virtqueue *vq)
{
	char why[160];

	if (vq->enabled)
		return;
	if (vq_map(vd, vq, why, sizeof(why)) < 0) {
		virtio_dev_error(vd, vq, -1, "cannot enable: %s", why);
		return;
	}
	vq->last_avail_idx = 0;
	vq->used_idx = 0;
	vq->enabled = true;
}

/* The common configuration structure as bytes (for reads and byte-merging writes). */
static void
common_image(struct virtio_dev *vd, uint8_t *b)
{
	struct virtqueue *vq = vd->queue_select < vd->ops->nqueues ?
	    &vd->vq[vd->queue_select] : NULL;
	uint32_t dfeat = vd->device_feature_select < 2 ?
	    (uint32_t)(vd->device_features >> (32 * vd->device_feature_select)) : 0;
	uint32_t drfeat = vd->driver_feature_select < 2 ?
	    (uint32_t)(vd->driver_features >> (32 * vd->driver_feature_select)) : 0;

#define PUT16(o, v) do { b[o] = (uint8_t)(v); b[(o) + 1] = (uint8_t)((v) >> 8); } while (0)
#define PUT32(o, v) do { PUT16(o, (v) & 0xffff); PUT16((o) + 2, (v) >> 16); } while (0)
#define PUT64(o, v) do { PUT32(o, (uint32_t)(v)); PUT32((o) + 4, (uint32_t)((v) >> 32)); } while (0)
	memset(b, 0, 0x40);
	PUT32(0x00, vd->device_feature_select);
	PUT32(0x04, dfeat);
	PUT32(0x08, vd->driver_feature_select);
	PUT32(0x0c, drfeat);
	PUT16(0x10, vd->msix_config);
	PUT16(0x12, vd->ops->nqueues);
	b[0x14] = vd->status;
	b[0x15] = vd->config_generation;
	PUT16(0x16, vd->queue_select);
	if (vq != NULL) {
		PUT16(0x18, vq->size);
		PUT16(0x1a, vq->msix_vector);
		PUT16(0x1c, vq->enabled ? 1 : 0);
		PUT16(0x1e, vq->index);
		PUT64(0x20, vq->desc_gpa);
		PUT64(0x28, vq->avail_gpa);
		PUT64(0x30, vq->used_gpa);
	}
#undef PUT64
#undef PUT32
#undef PUT16
}

static uint64_t
get_le(const uint8_t *b, unsigned n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = v << 8 | b[n];
	return (v);
}

static uint16_t
vector_ok(const struct virtio_dev *vd, uint64_t v)
{
	return (v < vd->pci.msix.nvec ? (uint16_t)v : VIRTIO_NO_VECTOR);
}

/* Apply the common-config field at @fo (width @fw) from the merged image @b.  vd->lock held. */
static bool
common_apply(struct virtio_dev *vd, unsigned fo, const uint8_t *b)
{
	struct virtqueue *vq = vd->queue_select < vd->ops->nqueues ?
	    &vd->vq[vd->queue_select] : NULL;
	uint64_t v;

	switch (fo) {
	case 0x00:
		vd->device_feature_select = (uint32_t)get_le(b + fo, 4);
		break;
	case 0x08:
		vd->driver_feature_select = (uint32_t)get_le(b + fo, 4);
		break;
	case 0x0c:
		if ((vd->status & VIRTIO_S_FEATURES_OK) != 0 ||
		    vd->driver_feature_select > 1)
			break;
		v = get_le(b + fo, 4);
		if (vd->driver_feature_select == 0)
			vd->driver_features = (vd->driver_features &
			    0xffffffff00000000ULL) | v;
		else
			vd->driver_features = (vd->driver_features &
			    0xffffffffULL) | v << 32;
		break;
	case 0x10:
		vd->msix_config = vector_ok(vd, get_le(b + fo, 2));
		break;
	case 0x14:
		if (b[fo] == 0)
			return (true);	/* reset: done by the caller without the lock */
		virtio_status_write(vd, b[fo]);
		break;
	case 0x16:
		vd->queue_select = (uint16_t)get_le(b + fo, 2);
		break;
	case 0x18:
		if (vq != NULL && !vq->enabled)
			vq->size = (uint16_t)get_le(b + fo, 2);
		break;
	case 0x1a:
		if (vq != NULL)
			vq->msix_vector = vector_ok(vd, get_le(b + fo, 2));
		break;
	case 0x1c:
		if (vq != NULL && (get_le(b + fo, 2) & 1) != 0)
			virtio_queue_enable(vd, vq);
		break;
	case 0x20:
		if (vq != NULL && !vq->enabled)
			vq->desc_gpa = get_le(b + fo, 8);
		break;
	case 0x28:
		if (vq != NULL && !vq->enabled)
			vq->avail_gpa = get_le(b + fo, 8);
		break;
	case 0x30:
		if (vq != NULL && !vq->enabled)
			vq->used_gpa = get_le(b + fo, 8);
		break;
	default:
		break;	/* read-only */
	}
	return (false);
}

/* Field offsets and widths of the common configuration structure. */
static const struct {
	uint8_t off, width;
} common_fields[] = {
	{ 0x00, 4 }, { 0x04, 4 }, { 0x08, 4 }, { 0x0c, 4 }, { 0x10, 2 },
	{ 0x12, 2 }, { 0x14, 1 }, { 0x15, 1 }, { 0x16, 2 }, { 0x18, 2 },
	{ 0x1a, 2 }, { 0x1c, 2 }, { 0x1e, 2 }, { 0x20, 8 }, { 0x28, 8 },
	{ 0x30, 8 },
};

static void
common_write(struct virtio_dev *vd, unsigned off, unsigned size, uint64_t val)
{
	uint8_t b[0x40];
	unsigned i;
	bool reset = false;

	pthread_mutex_lock(&vd->lock);
	common_image(vd, b);
	for (i = 0; i < size; i++)
		b[off + i] = (uint8_t)(val >> (8 * i));
	for (i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
		unsigned fo = common_fields[i].off, fw = common_fields[i].width;
		if (off < fo + fw && off + size > fo)
			reset |= common_apply(vd, fo, b);
	}
	pthread_mutex_unlock(&vd->lock);
	if (reset)
		virtio_driver_reset(vd);
}

static int
virtio_barread(struct pci_dev *pd, int bar, uint64_t off, unsigned size,
    uint64_t *val)
{
	struct virtio_dev *vd = (struct virtio_dev *)pd;
	uint8_t b[0x40];

	*val = 0;
	if (bar != VIRTIO_BAR || size > 8)
		return (0);
	pthread_mutex_lock(&vd->lock);
	if (off + size <= VIRTIO_COMMON_LEN) {
		common_image(vd, b);
		*val = get_le(b + off, size);
	} else if (off == VIRTIO_ISR_OFF) {
		*val = vd->isr;
		vd->isr = 0;
		pci_intx_set(pd, false);
	} else if (off >= VIRTIO_DEVCFG_OFF &&
	    off + size <= VIRTIO_DEVCFG_OFF + vd->devcfg_len) {
		*val = get_le(vd->devcfg + (off - VIRTIO_DEVCFG_OFF), size);
	}
	pthread_mutex_unlock(&vd->lock);
	return (0);
}

static int
virtio_barwrite(struct pci_dev *pd, int bar, uint64_t off, unsigned size,
    uint64_t val)
{
	struct virtio_dev *vd = (struct virtio_dev *)pd;
	unsigned q;

	if (bar != VIRTIO_BAR || size > 8)
		return (0);
	if (off + size <= VIRTIO_COMMON_LEN) {
		common_write(vd, (unsigned)off, size, val);
		return (0);
	}
	if (off >= VIRTIO_NOTIFY_OFF && off < VIRTIO_NOTIFY_OFF +
	    (uint64_t)VIRTIO_NOTIFY_MULT * vd->ops->nqueues) {
		q = (unsigned)(off - VIRTIO_NOTIFY_OFF) / VIRTIO_NOTIFY_MULT;
		if (vd->ops->notify != NULL)
			vd->ops->notify(vd, &vd->vq[q]);
		return (0);
	}
	/* Device config is read-only for the devices hyve has; ISR is read-only. */
	return (0);
}

static int
virtio_cap(struct virtio_dev *vd, uint8_t type, uint32_t off, uint32_t len,
    bool notify)
{
	uint8_t cap[20] = { PCIY_VENDOR, 0, notify ? 20 : 16, type, VIRTIO_BAR };

	cap[8] = (uint8_t)off;
	cap[9] = (uint8_t)(off >> 8);
	cap[10] = (uint8_t)(off >> 16);
	cap[11] = (uint8_t)(off >> 24);
	cap[12] = (uint8_t)len;
	cap[13] = (uint8_t)(len >> 8);
	cap[14] = (uint8_t)(len >> 16);
	cap[15] = (uint8_t)(len >> 24);
	if (notify)
		cap[16] = VIRTIO_NOTIFY_MULT;
	return (pci_cap_add(&vd->pci, cap, notify ? 20 : 16));
}

int
virtio_dev_init(struct virtio_dev *vd, struct dev *d,
    const struct virtio_ops *ops, void *softc, uint64_t features,
    const void *devcfg, uint32_t devcfg_len)
{
	unsigned i;
	int rc;

	if (ops->nqueues == 0 || ops->nqueues > VIRTIO_MAX_QUEUES ||
	    ops->queue_max == 0 || ops->queue_max > VQ_MAX_SIZE ||
	    devcfg_len > VIRTIO_DEVCFG_MAX)
		return (-EINVAL);
	rc = pci_dev_init(&vd->pci, d, &virtio_pci_devemu, VIRTIO_VENDOR,
	    (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_type),
	    ops->pci_class, 1, VIRTIO_VENDOR,
	    (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_type));
	if (rc < 0)
		return (rc);
	vd->ops = ops;
	vd->softc = softc;
	vd->name = vd->pci.name;
	vd->device_features = features | (1ULL << VIRTIO_F_VERSION_1);
	memcpy(vd->devcfg, devcfg, devcfg_len);
	vd->devcfg_len = devcfg_len;
	pthread_mutex_init(&vd->lock, NULL);
	for (i = 0; i < ops->nqueues; i++) {
		vd->vq[i].vd = vd;
		vd->vq[i].index = (uint16_t)i;
		vd->vq[i].max_size = ops->queue_max;
	}
	virtio_transport_reset_locked(vd);
	if ((rc = virtio_cap(vd, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_COMMON_OFF,
	    VIRTIO_COMMON_LEN, false)) < 0 ||
	    (rc = virtio_cap(vd, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_NOTIFY_OFF,
	    VIRTIO_NOTIFY_MULT * ops->nqueues, true)) < 0 ||
	    (rc = virtio_cap(vd, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_ISR_OFF, 1,
	    false)) < 0 ||
	    (devcfg_len > 0 && (rc = virtio_cap(vd, VIRTIO_PCI_CAP_DEVICE_CFG,
	    VIRTIO_DEVCFG_OFF, devcfg_len, false)) < 0) ||
	    (rc = pci_msix_add(&vd->pci, VIRTIO_MSIX_BAR,
	    (uint16_t)(ops->nqueues + 1), 0, VIRTIO_MSIX_PBA_OFF)) < 0 ||
	    (rc = pci_bar_alloc(&vd->pci, VIRTIO_MSIX_BAR, PCI_BAR_MEM32,
	    VIRTIO_MSIX_BAR_SIZE)) < 0 ||
	    (rc = pci_bar_alloc(&vd->pci, VIRTIO_BAR, PCI_BAR_MEM32,
	    VIRTIO_BAR_SIZE)) < 0) {
		vm_log(d->vm, "%s: cannot build the PCI function: %s", vd->name,
		    strerror(-rc));
		pci_dev_fini(&vd->pci);
		pthread_mutex_destroy(&vd->lock);
		return (rc);
	}
	return (0);
}

void
virtio_dev_fini(struct virtio_dev *vd)
{
	pci_dev_fini(&vd->pci);
	pthread_mutex_destroy(&vd->lock);
}

/* ------------------------------------------------------------------------ */
/* Checkpoint                                                                */
/* ------------------------------------------------------------------------ */

/*
 * The fields of the "virtio" section, once for save and restore.  How many
 * queues there are is the model's (@st->nqueues, set by the caller).
 */
static int
virtio_state_io(ckp_io_t *io, struct virtio_state *st)
{
	unsigned i;

	/* A failed enter records the error; its leave below matches it. */
	ckp_io_enter(io, "virtio", 1);
	CKP_IO_NAMED_MATCH(io, "device_features", st->device_features);
	CKP_IO_NAMED(io, "driver_features", st->driver_features);
	CKP_IO_NAMED(io, "device_feature_select", st->device_feature_select);
	CKP_IO_NAMED(io, "driver_feature_select", st->driver_feature_select);
	CKP_IO_NAMED(io, "status", st->status);
	CKP_IO_NAMED(io, "isr", st->isr);
	CKP_IO_NAMED(io, "config_generation", st->config_generation);
	CKP_IO_NAMED(io, "msix_config", st->msix_config);
	CKP_IO_NAMED(io, "queue_select", st->queue_select);
	for (i = 0; i < st->nqueues && ckp_io_error(io) == 0; i++) {
		struct virtio_queue_state *q = &st->vq[i];
		ckp_io_enterf(io, 1, "queue@%u", i);
		CKP_IO_NAMED(io, "size", q->size);
		CKP_IO_NAMED(io, "enabled", q->enabled);
		CKP_IO_NAMED(io, "msix_vector", q->msix_vector);
		CKP_IO_NAMED(io, "desc", q->desc);
		CKP_IO_NAMED(io, "avail", q->avail);
		CKP_IO_NAMED(io, "used", q->used);
		CKP_IO_NAMED(io, "last_avail_idx", q->last_avail_idx);
		CKP_IO_NAMED(io, "used_idx", q->used_idx);
		CKP_IO_NAMED_OPT(io, "broken", q->broken, false);
		ckp_io_leave(io);
	}
	ckp_io_leave(io);
	return (ckp_io_error(io));
}

/* The transport's fields of @vd (not "pci").  vd->lock held. */
static void
virtio_state_get(const struct virtio_dev *vd, struct virtio_state *st)
{
	unsigned i;

	st->device_features = vd->device_features;
	st->driver_features = vd->driver_features;
	st->device_feature_select = vd->device_feature_select;
	st->driver_feature_select = vd->driver_feature_select;
	st->status = vd->status;
	st->isr = vd->isr;
	st->config_generation = vd->config_generation;
	st->msix_config = vd->msix_config;
	st->queue_select = vd->queue_select;
	st->nqueues = vd->ops->nqueues;
	memset(st->vq, 0, sizeof(st->vq));
	for (i = 0; i < st->nqueues; i++) {
		const struct virtqueue *vq = &vd->vq[i];
		struct virtio_queue_state *q = &st->vq[i];
		q->size = vq->size;
		q->enabled = vq->enabled;
		q->msix_vector = vq->msix_vector;
		q->desc = vq->desc_gpa;
		q->avail = vq->avail_gpa;
		q->used = vq->used_gpa;
		q->last_avail_idx = vq->last_avail_idx;
		q->used_idx = vq->used_idx;
		q->broken = vq->broken;
	}
}

int
virtio_dev_save(struct virtio_dev *vd, ckp_io_t *io)
{
	struct virtio_state st;
	int rc;

	rc = pci_dev_save(&vd->pci, io);
	if (rc < 0)
		return (rc);
	pthread_mutex_lock(&vd->lock);
	virtio_state_get(vd, &st);
	pthread_mutex_unlock(&vd->lock);
	return (virtio_state_io(io, &st));
}

int
virtio_dev_restore_check(struct virtio_dev *vd, ckp_io_t *io,
    struct virtio_state *st)
{
	struct virtqueue tmp;
	char why[160];
	unsigned i;
	int rc;

	if ((rc = pci_dev_restore_check(&vd->pci, io, &st->pci)) < 0)
		return (rc);
	/* The model's features and queue count, to be matched and read. */
	pthread_mutex_lock(&vd->lock);
	virtio_state_get(vd, st);
	pthread_mutex_unlock(&vd->lock);
	if ((rc = virtio_state_io(io, st)) < 0)
		return (rc);
	/*
	 * Before FEATURES_OK the driver may write any bits (the device refuses
	 * FEATURES_OK, not the write), so a saved state can hold them; once
	 * FEATURES_OK is set they were checked and frozen.
	 */
	if ((st->status & VIRTIO_S_FEATURES_OK) != 0 &&
	    ((st->driver_features & ~st->device_features) != 0 ||
	    (st->driver_features & (1ULL << VIRTIO_F_VERSION_1)) == 0))
		return (ckp_doc_set_error(ckp_io_doc(io), -EINVAL, "%s: virtio."
		    "driver_features 0x%" PRIx64 " with FEATURES_OK in status "
		    "are not a subset of device_features 0x%" PRIx64 " with "
		    "VIRTIO_F_VERSION_1", vd->name, st->driver_features,
		    st->device_features));
	/* A vector the function does not have is no vector, as for a guest. */
	if (st->msix_config != VIRTIO_NO_VECTOR &&
	    st->msix_config >= vd->pci.msix.nvec)
		st->msix_config = VIRTIO_NO_VECTOR;
	for (i = 0; i < st->nqueues; i++) {
		struct virtio_queue_state *q = &st->vq[i];
		if (q->msix_vector != VIRTIO_NO_VECTOR &&
		    q->msix_vector >= vd->pci.msix.nvec)
			q->msix_vector = VIRTIO_NO_VECTOR;
		if (!q->enabled)
			continue;
		/* Only to check the rings: virtio_dev_resume() maps them. */
		tmp = vd->vq[i];
		tmp.size = q->size;
		tmp.desc_gpa = q->desc;
		tmp.avail_gpa = q->avail;
		tmp.used_gpa = q->used;
		if (vq_map(vd, &tmp, why, sizeof(why)) < 0)
			return (ckp_doc_set_error(ckp_io_doc(io), -EINVAL,
			    "%s: virtio.queue@%u: %s", vd->name, i, why));
	}
	return (0);
}

/* Nothing touches guest RAM before virtio_dev_resume() maps the rings. */
void
virtio_dev_restore_commit(struct virtio_dev *vd, const struct virtio_state *st)
{
	unsigned i;

	pci_dev_restore_commit(&vd->pci, &st->pci);
	pthread_mutex_lock(&vd->lock);
	vd->driver_features = st->driver_features;
	vd->device_feature_select = st->device_feature_select;
	vd->driver_feature_select = st->driver_feature_select;
	vd->status = st->status;
	vd->isr = st->isr;
	vd->config_generation = st->config_generation;
	vd->msix_config = st->msix_config;
	vd->queue_select = st->queue_select;
	for (i = 0; i < st->nqueues; i++) {
		const struct virtio_queue_state *q = &st->vq[i];
		struct virtqueue *vq = &vd->vq[i];
		vq->size = q->size;
		vq->enabled = q->enabled;
		vq->msix_vector = q->msix_vector;
		vq->desc_gpa = q->desc;
		vq->avail_gpa = q->avail;
		vq->used_gpa = q->used;
		vq->last_avail_idx = q->last_avail_idx;
		vq->used_idx = q->used_idx;
		vq->broken = q->broken;
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
	}
	pthread_mutex_unlock(&vd->lock);
}

int
virtio_dev_restore(struct virtio_dev *vd, ckp_io_t *io)
{
	struct virtio_state st;
	int rc;

	if ((rc = virtio_dev_restore_check(vd, io, &st)) < 0)
		return (rc);
	virtio_dev_restore_commit(vd, &st);
	return (0);
}

int
virtio_dev_resume(struct virtio_dev *vd)
{
	char why[160];
	unsigned i;
	int rc;

	rc = pci_dev_resume(&vd->pci);
	if (rc < 0)
		return (rc);
	pthread_mutex_lock(&vd->lock);
	for (i = 0; i < vd->ops->nqueues; i++) {
		struct virtqueue *vq = &vd->vq[i];
		if (vq->enabled && vq_map(vd, vq, why, sizeof(why)) < 0)
			virtio_dev_error(vd, vq, -1, "after restore: %s", why);
	}
	if (vd->isr != 0 && !pci_msix_enabled(&vd->pci))
		pci_intx_set(&vd->pci, true);
	pthread_mutex_unlock(&vd->lock);
	return (0);
}
