/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The test guest's edu importer (tests/kmod/edu_p2p.c): what userspace
 * asks of it through /dev/edu_p2p.
 *
 * Copyright 2026 The drm-p2p authors
 */
#ifndef EDU_P2P_UAPI_H
#define EDU_P2P_UAPI_H

#include <linux/const.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/* The most one EDU_P2P_DMA moves, and the size of the scratch buffer. */
#define EDU_P2P_BUF_SIZE	4096

/*
 * Import a dma-buf: attach dynamically, allowing peer2peer. With
 * EDU_P2P_IMPORT_PINNED, as RDMA's pinned umem does: without an
 * invalidate_mappings callback, pinned and mapped at once until released.
 */
struct edu_p2p_import {
	__s32 fd;
	__u32 flags;
};

#define EDU_P2P_IMPORT_PINNED	_BITUL(0)
/* Limit edu's DMA segments to 64 KiB, the PCI default, for this import. */
#define EDU_P2P_IMPORT_SEG_64K	_BITUL(1)
/*
 * Limit edu's DMA mask to 31 bits for this import: below a BAR in the PCI
 * hole, above all of the test guest's memory.
 */
#define EDU_P2P_IMPORT_DMA31	_BITUL(2)

/* Where a transfer goes from or to. */
enum edu_p2p_end {
	EDU_P2P_DMABUF,		/* the imported dma-buf, at @offset */
	EDU_P2P_SCRATCH,	/* the driver's coherent scratch buffer */
};

/*
 * Move @len bytes (at most EDU_P2P_BUF_SIZE) with edu's DMA engine from
 * @from to @to, through edu's own buffer: a transfer in and one out per
 * chunk and DMA segment. The dma-buf is mapped first when it is not
 * (again after an invalidation).
 */
struct edu_p2p_dma {
	__u64 offset;		/* in the dma-buf */
	__u32 len;
	__u32 from;		/* enum edu_p2p_end */
	__u32 to;		/* enum edu_p2p_end */
	__u32 pad;
};

/* Read or write the scratch buffer (EDU_P2P_BUF_SIZE bytes) from the CPU. */
struct edu_p2p_scratch {
	__u64 data;		/* user pointer */
	__u32 len;
	__u32 pad;
};

/* What the exporter gave, as the mapping's first DMA address tells. */
enum edu_p2p_kind {
	EDU_P2P_UNMAPPED,
	EDU_P2P_PEER,		/* a bus address with no struct page: a BAR */
	EDU_P2P_PAGES,		/* a bus address in system memory */
	EDU_P2P_IOVA,		/* an IOVA: edu is behind an IOMMU */
};

struct edu_p2p_info {
	__u32 kind;		/* enum edu_p2p_kind of the live mapping */
	__u32 nents;		/* its DMA entries */
	__u64 first_dma;	/* its first DMA address */
	__u32 maps;		/* mappings made */
	__u32 invalidations;	/* invalidations received */
	__u32 transfers;	/* DMA transfers done */
	__u32 peer2peer;	/* the attachment's peer2peer after attach */
	__u32 pinned;		/* imported with EDU_P2P_IMPORT_PINNED */
	__u32 max_seg;		/* edu's maximum DMA segment size */
	__u64 longest;		/* the live mapping's longest DMA segment */
};

#define EDU_P2P_IMPORT		_IOW('E', 1, struct edu_p2p_import)
#define EDU_P2P_DMA		_IOW('E', 2, struct edu_p2p_dma)
#define EDU_P2P_READ_SCRATCH	_IOW('E', 3, struct edu_p2p_scratch)
#define EDU_P2P_WRITE_SCRATCH	_IOW('E', 4, struct edu_p2p_scratch)
#define EDU_P2P_INFO		_IOR('E', 5, struct edu_p2p_info)
#define EDU_P2P_RELEASE		_IO('E', 6)

#endif
