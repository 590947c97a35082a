/*-
 * SPDX-License-Identifier: BSD-2-Clause
 *
 * The virtio 1.x modern PCI transport shared by hyve's virtio devices:
 * vendor capabilities in BAR 4 (common config, notify, ISR, device config),
 * MSI-X table and PBA in BAR 1, feature negotiation, the device status
 * machine, reset, and split virtqueues that are checked against everything
 * a guest can get wrong.  See docs/DEVICES.md.
 *
 * Locking: vd->lock guards the transport and every queue.  Functions named
 * vq_* expect it held; the device's notify and reset callbacks are called
 * without it.
 */
#ifndef HYVE_VIRTIO_H
#define HYVE_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci.h"

#define VIRTIO_VENDOR		0x1af4
#define VIRTIO_PCI_DEVICE_BASE	0x1040	/* + virtio device type */

#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLOCK		2

#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_EVENT_IDX	29
#define VIRTIO_F_VERSION_1	32

#define VIRTIO_S_ACKNOWLEDGE	0x01
#define VIRTIO_S_DRIVER		0x02
#define VIRTIO_S_DRIVER_OK	0x04
#define VIRTIO_S_FEATURES_OK	0x08
#define VIRTIO_S_NEEDS_RESET	0x40
#define VIRTIO_S_FAILED		0x80

#define VIRTIO_ISR_QUEUE	0x1
#define VIRTIO_ISR_CONFIG	0x2

#define VIRTIO_NO_VECTOR	0xffff

#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1

#define VIRTIO_MAX_QUEUES	4
#define VQ_MAX_SIZE		256
/* The most bytes one descriptor chain may describe (a larger one is malformed). */
#define VQ_MAX_CHAIN_BYTES	(128U << 20)

/* BAR layout. */
#define VIRTIO_MSIX_BAR		1
#define VIRTIO_MSIX_BAR_SIZE	0x1000
#define VIRTIO_MSIX_PBA_OFF	0x800
#define VIRTIO_BAR		4
#define VIRTIO_BAR_SIZE		0x4000
#define VIRTIO_COMMON_OFF	0x0000
#define VIRTIO_COMMON_LEN	0x0038
#define VIRTIO_ISR_OFF		0x1000
#define VIRTIO_DEVCFG_OFF	0x2000
#define VIRTIO_DEVCFG_MAX	0x100
#define VIRTIO_NOTIFY_OFF	0x3000
#define VIRTIO_NOTIFY_MULT	4

/* virtio_pci_cap cfg_type */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG	3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

/* One buffer of a chain, in host memory (inside guest RAM). */
struct vq_seg {
	void	*p;
	uint64_t gpa;
	uint32_t len;
	bool	write;		/* device-writable */
};

/* A descriptor chain taken from the avail ring: readable segments first. */
struct vq_chain {
	uint16_t head;
	uint16_t nseg;
	uint16_t nread;		/* the first nread segments are readable */
	uint64_t rbytes;	/* bytes in readable segments */
	uint64_t wbytes;	/* bytes in writable segments */
	struct vq_seg seg[VQ_MAX_SIZE];
};

struct virtio_dev;

struct virtqueue {
	struct virtio_dev *vd;
	uint16_t index;
	uint16_t max_size;
	/* Programmed by the driver (saved). */
	uint16_t size;
	bool	enabled;
	uint16_t msix_vector;
	uint64_t desc_gpa;
	uint64_t avail_gpa;
	uint64_t used_gpa;
	/* Device progress (saved). */
	uint16_t last_avail_idx;
	uint16_t used_idx;
	bool	broken;		/* stopped after a driver error, until reset */
	/* Host views of the rings, derived from the addresses. */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

struct virtio_ops {
	uint16_t device_type;	/* VIRTIO_ID_* */
	uint32_t pci_class;
	uint16_t nqueues;
	uint16_t queue_max;
	/* The driver kicked @vq (vCPU thread, no lock held). */
	void	(*notify)(struct virtio_dev *vd, struct virtqueue *vq);
	/* The driver reset the device: finish or drop in-flight work (no lock held). */
	void	(*reset)(struct virtio_dev *vd);
};

struct virtio_dev {
	struct pci_dev pci;	/* first: a pci_dev is a virtio_dev */
	const struct virtio_ops *ops;
	void	*softc;
	const char *name;	/* "virtio-blk@pci.0.3.0" */
	pthread_mutex_t lock;
	/* Transport state (saved). */
	uint64_t device_features;
	uint64_t driver_features;
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint8_t	status;
	uint8_t	isr;
	uint8_t	config_generation;
	uint16_t msix_config;
	uint16_t queue_select;
	struct virtqueue vq[VIRTIO_MAX_QUEUES];
	/* The device-specific config structure, as the driver reads it. */
	uint8_t	devcfg[VIRTIO_DEVCFG_MAX];
	uint32_t devcfg_len;
	bool	resetting;
};

/* The PCI hooks of every virtio model (struct devemu.pci). */
extern const struct pci_devemu virtio_pci_devemu;

/*
 * Build the PCI function and transport for @d: IDs 0x1af4:0x1040+type,
 * capabilities, BARs 1 and 4, MSI-X with one vector per queue plus one for
 * config changes.  @features are the device's; VIRTIO_F_VERSION_1 is added.
 */
int virtio_dev_init(struct virtio_dev *vd, struct dev *d,
    const struct virtio_ops *ops, void *softc, uint64_t features,
    const void *devcfg, uint32_t devcfg_len);
void virtio_dev_fini(struct virtio_dev *vd);
/* Whole-device reset (system reset): the transport as after init. */
void virtio_dev_reset(struct virtio_dev *vd);

/* @return true when the driver may use @vq (DRIVER_OK, enabled, not broken). vd->lock held. */
bool vq_ready(const struct virtqueue *vq);
/* @return true when the avail ring holds chains not yet taken. vd->lock held. */
bool vq_has_avail(const struct virtqueue *vq);
/*
 * Take the next chain: 1 = taken, 0 = none, -EIO = the queue is broken
 * (the error is reported and the device flagged here).  vd->lock held.
 */
int vq_pop(struct virtqueue *vq, struct vq_chain *c);
/* Put @c back on the used ring, the device having written @written bytes. vd->lock held. */
void vq_push(struct virtqueue *vq, const struct vq_chain *c, uint32_t written);
/* Interrupt the driver for @vq unless it asked not to be.  vd->lock held. */
void vq_interrupt(struct virtqueue *vq);
/* Copy @len bytes from the readable part of @c at @off; @return bytes copied. */
uint64_t vq_chain_read(const struct vq_chain *c, uint64_t off, void *buf,
    uint64_t len);
/* Copy into the writable part of @c at @off (marks pages dirty); @return bytes copied. */
uint64_t vq_chain_write(struct virtqueue *vq, const struct vq_chain *c,
    uint64_t off, const void *buf, uint64_t len);

/*
 * The driver broke the rules on @vq (NULL: the device as a whole) at
 * descriptor @desc (-1: none): log the message with device, queue and
 * descriptor, stop the queue, set DEVICE_NEEDS_RESET, and send a config
 * change interrupt.  vd->lock held.
 */
void virtio_dev_error(struct virtio_dev *vd, struct virtqueue *vq, int desc,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Config-change interrupt (device config changed or needs reset).  vd->lock held. */
void virtio_config_interrupt(struct virtio_dev *vd);

/* The "pci" and "virtio" sections.  Restore fills and checks; resume applies. */
int virtio_dev_save(struct virtio_dev *vd, ckp_io_t *io);
int virtio_dev_restore(struct virtio_dev *vd, ckp_io_t *io);
int virtio_dev_resume(struct virtio_dev *vd);

/* One queue in a checkpoint: section "virtio.queue@N". */
struct virtio_queue_state {
	uint16_t size;
	bool	 enabled;
	uint16_t msix_vector;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
	uint16_t last_avail_idx;
	uint16_t used_idx;
	bool	 broken;
};

/*
 * The transport in a checkpoint as plain data: the "pci" section
 * (struct pci_state) and the "virtio" section, whose fields virtio.c lists
 * once for save and restore.
 */
struct virtio_state {
	struct pci_state pci;
	uint64_t device_features;	/* must be the model's */
	uint64_t driver_features;
	uint32_t device_feature_select;
	uint32_t driver_feature_select;
	uint8_t	 status;
	uint8_t	 isr;
	uint8_t	 config_generation;
	uint16_t msix_config;
	uint16_t queue_select;
	uint16_t nqueues;		/* the model's: how many queue@N */
	struct virtio_queue_state vq[VIRTIO_MAX_QUEUES];
};

/*
 * A restore in two steps, for a model that checks its own fields too before
 * anything changes: read both sections into @st and check them against
 * @vd (nothing of @vd changes), then commit.  virtio_dev_restore() is the
 * two in a row.
 */
int virtio_dev_restore_check(struct virtio_dev *vd, ckp_io_t *io,
    struct virtio_state *st);
void virtio_dev_restore_commit(struct virtio_dev *vd,
    const struct virtio_state *st);

#ifdef HYVE_TEST_HOOKS
/*
 * Test builds only: called by virtio-blk's I/O threads before each request
 * (to slow them, or to make one misbehave).
 */
extern void (*virtio_blk_test_io_hook)(void);
/*
 * Test builds only, so that a driver can be replayed deterministically.
 * virtio_blk_test_drain(): wait until every request virtio-blk @d took from
 * its ring is on the used ring.  virtio_net_test_rx(): hand @len bytes to
 * virtio-net @d as if its backend had received that frame (nothing may be
 * written to the backend meanwhile: the receive thread must be idle);
 * @return true when the frame went into a driver's buffer.
 */
void virtio_blk_test_drain(struct dev *d);
bool virtio_net_test_rx(struct dev *d, const void *frame, size_t len);
#endif

#endif /* HYVE_VIRTIO_H */
