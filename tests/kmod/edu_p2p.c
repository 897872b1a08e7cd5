// SPDX-License-Identifier: GPL-2.0
/*
 * edu_p2p: a DMA-capable PCI importer for the test guest. QEMU's "edu"
 * device has a DMA engine that moves up to 4 KiB between a bus address and
 * a buffer of its own; this driver imports a dma-buf from userspace as a
 * dynamic importer that allows peer2peer, maps it, and moves bytes between
 * it and a coherent scratch buffer through edu's engine, so that a test
 * can check what a device, not the CPU, reads and writes at the DMA
 * addresses an exporter gave. Built only for the test guest.
 *
 * One user at a time, through /dev/edu_p2p (tests/kmod/edu_p2p_uapi.h).
 * An open file keeps the driver's state alive: once the device is gone
 * (unbound or unplugged) its calls fail with -ENODEV.
 * Every transfer runs under the dma-buf's reservation lock with a live
 * mapping, so an exporter's invalidation (taken under the same lock) can
 * never race a transfer: after it, no DMA reaches the old addresses.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/iommu.h>
#include <linux/iopoll.h>
#include <linux/kref.h>
#include <linux/memremap.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/uaccess.h>

#include "edu_p2p_uapi.h"

MODULE_IMPORT_NS("DMA_BUF");

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

#define EDU_ID			0x00	/* 0x010000ed */
#define EDU_DMA_SRC		0x80
#define EDU_DMA_DST		0x88
#define EDU_DMA_COUNT		0x90
#define EDU_DMA_CMD		0x98
#define  EDU_CMD_START		BIT(0)
#define  EDU_CMD_TO_RAM		BIT(1)	/* else from RAM to edu */
#define EDU_BUF_ADDR		0x40000	/* edu's own buffer, as its engine sees it */
/*
 * Bytes moved through edu's buffer at a time. QEMU 7.2's edu refuses (with
 * a hardware error that stops the machine) a transfer that ends at the end
 * of its buffer, an off-by-one fixed in later versions: stay below it.
 */
#define EDU_CHUNK		2048

struct edu_p2p {
	/* held by the bound device and by each open file */
	struct kref ref;
	struct pci_dev *pdev;
	void __iomem *mmio;
	struct miscdevice misc;
	/* serialises users of the device and protects what follows */
	struct mutex lock;
	/* removed: the device, its registers and scratch buffer are gone */
	bool gone;
	void *scratch;
	dma_addr_t scratch_dma;
	struct dma_buf *dmabuf;
	struct dma_buf_attachment *attach;
	/* pinned and mapped from import to release, never invalidated */
	bool pinned;
	/* the live mapping; under the dma-buf's reservation lock */
	struct sg_table *sgt;
	u32 maps;
	u32 invalidations;	/* under the reservation lock too */
	u32 transfers;
};

static void edu_invalidate(struct dma_buf_attachment *attach)
{
	struct edu_p2p *edu = attach->importer_priv;

	dma_resv_assert_held(attach->dmabuf->resv);
	edu->invalidations++;
	if (edu->sgt) {
		dma_buf_unmap_attachment(attach, edu->sgt, DMA_BIDIRECTIONAL);
		edu->sgt = NULL;
	}
}

static const struct dma_buf_attach_ops edu_attach_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = edu_invalidate,
};

/* A pinning importer, as RDMA's pinned umem: it cannot be told to unmap. */
static const struct dma_buf_attach_ops edu_pinned_ops = {
	.allow_peer2peer = true,
};

/* One transfer of @len bytes between bus address @ram and edu's buffer. */
static int edu_transfer(struct edu_p2p *edu, dma_addr_t ram, u32 off,
			u32 len, bool to_ram)
{
	u64 cmd;
	int ret;

	if (WARN_ON(off + len > EDU_CHUNK))
		return -EINVAL;
	writeq(to_ram ? EDU_BUF_ADDR + off : ram, edu->mmio + EDU_DMA_SRC);
	writeq(to_ram ? ram : EDU_BUF_ADDR + off, edu->mmio + EDU_DMA_DST);
	writeq(len, edu->mmio + EDU_DMA_COUNT);
	writeq(EDU_CMD_START | (to_ram ? EDU_CMD_TO_RAM : 0),
	       edu->mmio + EDU_DMA_CMD);
	/* QEMU runs the transfer 100 ms after the command. */
	ret = readq_poll_timeout(edu->mmio + EDU_DMA_CMD, cmd,
				 !(cmd & EDU_CMD_START), 1000, 5 * USEC_PER_SEC);
	if (ret)
		dev_err(&edu->pdev->dev, "DMA transfer timed out\n");
	else
		edu->transfers++;
	return ret;
}

/* Map the dma-buf if it is not; reservation lock held. */
static int edu_map_locked(struct edu_p2p *edu)
{
	struct dma_resv *resv = edu->dmabuf->resv;
	struct sg_table *sgt;
	long ret;

	if (edu->sgt)
		return 0;
	sgt = dma_buf_map_attachment(edu->attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);
	ret = dma_resv_wait_timeout(resv, DMA_RESV_USAGE_KERNEL, true,
				    MAX_SCHEDULE_TIMEOUT);
	if (ret < 0) {
		dma_buf_unmap_attachment(edu->attach, sgt, DMA_BIDIRECTIONAL);
		return ret;
	}
	edu->sgt = sgt;
	edu->maps++;
	return 0;
}

/*
 * Move @len bytes between the dma-buf at @offset and the start of edu's
 * buffer, in one transfer per DMA segment they span; reservation lock held,
 * mapped.
 */
static int edu_dmabuf_transfer(struct edu_p2p *edu, u64 offset, u32 len,
			       bool to_ram)
{
	struct scatterlist *sg;
	u32 done = 0;
	u64 pos = 0;
	unsigned int i;
	int ret;

	for_each_sgtable_dma_sg(edu->sgt, sg, i) {
		u64 seg = sg_dma_len(sg);

		if (done < len && offset + done < pos + seg) {
			u64 in = offset + done - pos;
			u32 n = min_t(u64, len - done, seg - in);

			ret = edu_transfer(edu, sg_dma_address(sg) + in, done,
					   n, to_ram);
			if (ret)
				return ret;
			done += n;
		}
		pos += seg;
	}
	return done == len ? 0 : -EINVAL;
}

/* One end of a move: @n bytes at @off of the dma-buf or of the scratch. */
static int edu_end_transfer(struct edu_p2p *edu, u32 end, u64 off, u32 n,
			    bool to_ram)
{
	if (end == EDU_P2P_DMABUF)
		return edu_dmabuf_transfer(edu, off, n, to_ram);
	return edu_transfer(edu, edu->scratch_dma + off, 0, n, to_ram);
}

static long edu_dma(struct edu_p2p *edu, struct edu_p2p_dma *req)
{
	bool uses_buf = req->from == EDU_P2P_DMABUF ||
			req->to == EDU_P2P_DMABUF;
	struct dma_resv *resv = NULL;
	u32 done, n;
	int ret = 0;

	if (!req->len || req->len > EDU_P2P_BUF_SIZE ||
	    req->from > EDU_P2P_SCRATCH || req->to > EDU_P2P_SCRATCH ||
	    req->pad)
		return -EINVAL;
	if (uses_buf) {
		if (!edu->attach)
			return -ENOENT;
		if (req->offset > edu->dmabuf->size ||
		    req->len > edu->dmabuf->size - req->offset)
			return -EINVAL;
		resv = edu->dmabuf->resv;
		ret = dma_resv_lock_interruptible(resv, NULL);
		if (ret)
			return ret;
		ret = edu_map_locked(edu);
	}
	/* Through edu's buffer, a chunk at a time: in, then out. */
	for (done = 0; !ret && done < req->len; done += n) {
		n = min_t(u32, req->len - done, EDU_CHUNK);
		ret = edu_end_transfer(edu, req->from,
				       req->from == EDU_P2P_DMABUF ?
				       req->offset + done : done, n, false);
		if (!ret)
			ret = edu_end_transfer(edu, req->to,
					       req->to == EDU_P2P_DMABUF ?
					       req->offset + done : done, n,
					       true);
	}
	if (resv)
		dma_resv_unlock(resv);
	return ret;
}

static void edu_release_buf(struct edu_p2p *edu)
{
	if (!edu->attach)
		return;
	dma_resv_lock(edu->dmabuf->resv, NULL);
	if (edu->sgt)
		dma_buf_unmap_attachment(edu->attach, edu->sgt,
					 DMA_BIDIRECTIONAL);
	edu->sgt = NULL;
	if (edu->pinned)
		dma_buf_unpin(edu->attach);
	edu->pinned = false;
	dma_resv_unlock(edu->dmabuf->resv);
	dma_buf_detach(edu->dmabuf, edu->attach);
	dma_buf_put(edu->dmabuf);
	edu->attach = NULL;
	edu->dmabuf = NULL;
}

static long edu_import(struct edu_p2p *edu, struct edu_p2p_import *req)
{
	bool pinned = req->flags & EDU_P2P_IMPORT_PINNED;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	int ret;

	if (req->flags & ~(EDU_P2P_IMPORT_PINNED | EDU_P2P_IMPORT_SEG_64K |
			   EDU_P2P_IMPORT_DMA31))
		return -EINVAL;
	dmabuf = dma_buf_get(req->fd);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	edu_release_buf(edu);
	/* Attachments made from here on see it; edu has one user at a time. */
	dma_set_max_seg_size(&edu->pdev->dev,
			     req->flags & EDU_P2P_IMPORT_SEG_64K ? SZ_64K :
			     UINT_MAX);
	ret = dma_set_mask(&edu->pdev->dev,
			   req->flags & EDU_P2P_IMPORT_DMA31 ? DMA_BIT_MASK(31) :
			   DMA_BIT_MASK(64));
	if (ret) {
		dma_buf_put(dmabuf);
		return ret;
	}
	attach = dma_buf_dynamic_attach(dmabuf, &edu->pdev->dev,
					pinned ? &edu_pinned_ops :
					&edu_attach_ops, edu);
	if (IS_ERR(attach)) {
		dma_buf_put(dmabuf);
		return PTR_ERR(attach);
	}
	edu->dmabuf = dmabuf;
	edu->attach = attach;
	edu->maps = 0;
	edu->invalidations = 0;
	edu->transfers = 0;
	if (!pinned)
		return 0;

	/* Pinned, then mapped for good: nothing will ever tell it to unmap. */
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_pin(attach);
	if (!ret) {
		edu->pinned = true;
		ret = edu_map_locked(edu);
	}
	dma_resv_unlock(dmabuf->resv);
	if (ret)
		edu_release_buf(edu);
	return ret;
}

/* System memory; a BAR's P2PDMA pages are not. */
static bool edu_is_ram(phys_addr_t phys)
{
	unsigned long pfn = PHYS_PFN(phys);

	return pfn_valid(pfn) && !is_pci_p2pdma_page(pfn_to_page(pfn));
}

static bool edu_translated(struct device *dev)
{
	struct iommu_domain *domain;

	if (!device_iommu_mapped(dev))
		return false;
	domain = iommu_get_domain_for_dev(dev);
	return domain && iommu_is_dma_domain(domain);
}

static long edu_info(struct edu_p2p *edu, struct edu_p2p_info *info)
{
	struct scatterlist *sg;
	unsigned int i;
	int ret;

	memset(info, 0, sizeof(*info));
	info->transfers = edu->transfers;
	if (!edu->attach)
		return 0;
	ret = dma_resv_lock_interruptible(edu->dmabuf->resv, NULL);
	if (ret)
		return ret;
	info->peer2peer = edu->attach->peer2peer;
	info->pinned = edu->pinned;
	info->max_seg = dma_get_max_seg_size(&edu->pdev->dev);
	info->maps = edu->maps;
	info->invalidations = edu->invalidations;
	if (edu->sgt) {
		struct device *dev = &edu->pdev->dev;
		dma_addr_t addr = sg_dma_address(edu->sgt->sgl);

		/*
		 * Without an IOMMU, or behind one whose domain does not
		 * translate (identity), a DMA address is a bus address: system
		 * memory has struct pages, a BAR does not. Behind a
		 * translating IOMMU it is an IOVA, which says neither.
		 */
		if (edu_translated(dev))
			info->kind = EDU_P2P_IOVA;
		else if (edu_is_ram(dma_to_phys(dev, addr)))
			info->kind = EDU_P2P_PAGES;
		else
			info->kind = EDU_P2P_PEER;
		info->nents = edu->sgt->nents;
		info->first_dma = addr;
		for_each_sgtable_dma_sg(edu->sgt, sg, i)
			info->longest = max_t(u64, info->longest,
					      sg_dma_len(sg));
	}
	dma_resv_unlock(edu->dmabuf->resv);
	return 0;
}

static void edu_free(struct kref *ref)
{
	kfree(container_of(ref, struct edu_p2p, ref));
}

static void edu_put(void *edu)
{
	kref_put(&((struct edu_p2p *)edu)->ref, edu_free);
}

/* misc_open() holds the misc lock: remove() cannot have run yet. */
static int edu_open(struct inode *inode, struct file *file)
{
	struct edu_p2p *edu = container_of(file->private_data, struct edu_p2p,
					   misc);

	kref_get(&edu->ref);
	file->private_data = edu;
	return 0;
}

static long edu_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct edu_p2p *edu = file->private_data;
	void __user *uarg = (void __user *)arg;
	union {
		struct edu_p2p_import import;
		struct edu_p2p_dma dma;
		struct edu_p2p_scratch scratch;
		struct edu_p2p_info info;
	} u;
	long ret;

	if (_IOC_SIZE(cmd) > sizeof(u))
		return -ENOTTY;
	if ((_IOC_DIR(cmd) & _IOC_WRITE) &&
	    copy_from_user(&u, uarg, _IOC_SIZE(cmd)))
		return -EFAULT;

	mutex_lock(&edu->lock);
	if (edu->gone) {
		mutex_unlock(&edu->lock);
		return -ENODEV;
	}
	switch (cmd) {
	case EDU_P2P_IMPORT:
		ret = edu_import(edu, &u.import);
		break;
	case EDU_P2P_DMA:
		ret = edu_dma(edu, &u.dma);
		break;
	case EDU_P2P_READ_SCRATCH:
	case EDU_P2P_WRITE_SCRATCH:
		if (u.scratch.len > EDU_P2P_BUF_SIZE || u.scratch.pad) {
			ret = -EINVAL;
			break;
		}
		if (cmd == EDU_P2P_READ_SCRATCH)
			ret = copy_to_user(u64_to_user_ptr(u.scratch.data),
					   edu->scratch, u.scratch.len);
		else
			ret = copy_from_user(edu->scratch,
					     u64_to_user_ptr(u.scratch.data),
					     u.scratch.len);
		ret = ret ? -EFAULT : 0;
		break;
	case EDU_P2P_INFO:
		ret = edu_info(edu, &u.info);
		if (!ret && copy_to_user(uarg, &u.info, sizeof(u.info)))
			ret = -EFAULT;
		break;
	case EDU_P2P_RELEASE:
		edu_release_buf(edu);
		ret = 0;
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&edu->lock);
	return ret;
}

static int edu_release(struct inode *inode, struct file *file)
{
	struct edu_p2p *edu = file->private_data;

	mutex_lock(&edu->lock);
	edu_release_buf(edu);
	mutex_unlock(&edu->lock);
	edu_put(edu);
	return 0;
}

static const struct file_operations edu_fops = {
	.owner = THIS_MODULE,
	.open = edu_open,
	.unlocked_ioctl = edu_ioctl,
	.release = edu_release,
};

static int edu_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct edu_p2p *edu;
	int ret;

	edu = kzalloc_obj(*edu);
	if (!edu)
		return -ENOMEM;
	kref_init(&edu->ref);
	edu->pdev = pdev;
	mutex_init(&edu->lock);
	/* The device's reference, dropped after remove(). */
	ret = devm_add_action_or_reset(dev, edu_put, edu);
	if (ret)
		return ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	edu->mmio = pcim_iomap_region(pdev, 0, "edu_p2p");
	if (IS_ERR(edu->mmio))
		return PTR_ERR(edu->mmio);
	if ((readl(edu->mmio + EDU_ID) & 0xff) != 0xed)
		return dev_err_probe(dev, -ENODEV, "not an edu device\n");
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64));
	if (ret)
		return ret;
	/* Any segment length: transfers are split at segments anyway. */
	dma_set_max_seg_size(dev, UINT_MAX);
	pci_set_master(pdev);
	edu->scratch = dmam_alloc_coherent(dev, EDU_P2P_BUF_SIZE,
					   &edu->scratch_dma, GFP_KERNEL);
	if (!edu->scratch)
		return -ENOMEM;

	edu->misc.minor = MISC_DYNAMIC_MINOR;
	edu->misc.name = "edu_p2p";
	edu->misc.fops = &edu_fops;
	edu->misc.parent = dev;
	ret = misc_register(&edu->misc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot register /dev/edu_p2p\n");
	pci_set_drvdata(pdev, edu);
	dev_info(dev, "edu DMA importer at /dev/edu_p2p\n");
	return 0;
}

static void edu_remove(struct pci_dev *pdev)
{
	struct edu_p2p *edu = pci_get_drvdata(pdev);

	/* No new opens; files still open fail from here on. */
	misc_deregister(&edu->misc);
	mutex_lock(&edu->lock);
	edu_release_buf(edu);
	edu->gone = true;
	mutex_unlock(&edu->lock);
}

static const struct pci_device_id edu_ids[] = {
	{ PCI_DEVICE(EDU_VENDOR, EDU_DEVICE) },
	{ }
};
MODULE_DEVICE_TABLE(pci, edu_ids);

static struct pci_driver edu_driver = {
	.name = "edu_p2p",
	.id_table = edu_ids,
	.probe = edu_probe,
	.remove = edu_remove,
};
module_pci_driver(edu_driver);

MODULE_DESCRIPTION("QEMU edu as a DMA-capable dma-buf importer, for tests");
MODULE_LICENSE("GPL");
