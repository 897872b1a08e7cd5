// SPDX-License-Identifier: GPL-2.0+
/*
 * VKMS VRAM on a PCI BAR: a small PCI driver for QEMU's ivshmem-plain
 * device, whose BAR 2 is memory the host provides, so that a VKMS device
 * can put its VRAM there and the P2P exporter's PCI path (a P2PDMA
 * provider, pci_p2pdma_distance(), dma_buf_phys_vec_to_sgt()) decides and
 * maps for importers as it would for a GPU.
 *
 * The driver owns the device: it enables it, requests the BAR and sets up
 * its P2PDMA provider, and lends the BAR to at most one VKMS device, named
 * by its PCI address in configfs (vram_pci). Binding a driver, rather than
 * looking the device up by address and using it unbound, is what makes
 * removal safe: when the device goes (hot-unplug, or its driver unbound),
 * remove() runs while the BAR is still there, revokes the VKMS device's
 * exports, which drops every importer's DMA mapping of the BAR, and moves
 * its buffers to system memory before the BAR and the provider go away.
 */

#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/slab.h>

#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#include "vkms_vram.h"

#define IVSHMEM_VENDOR	0x1af4
#define IVSHMEM_PLAIN	0x1110
#define IVSHMEM_BAR	2

/**
 * struct vkms_pci_vram - a BAR that can back VKMS VRAM
 *
 * Freed by whichever of remove() and the VKMS device's release comes last.
 */
struct vkms_pci_vram {
	/** @link: in vkms_pci_vrams while the driver is bound */
	struct list_head link;
	/** @pdev: the device, referenced */
	struct pci_dev *pdev;
	/** @provider: its P2PDMA provider; NULL once the device is gone */
	struct p2pdma_provider *provider;
	/** @phys: the BAR's CPU physical address */
	phys_addr_t phys;
	/** @size: the BAR's size */
	u64 size;
	/** @user: the VRAM on this BAR, or NULL */
	struct vkms_vram *user;
	/** @ready: @user is set up: remove() takes VRAM down through it */
	bool ready;
	/** @bound: the driver is bound: the BAR is there */
	bool bound;
};

/* Protects vkms_pci_vrams and every claim on them. */
static DEFINE_MUTEX(vkms_pci_lock);
static LIST_HEAD(vkms_pci_vrams);

/**
 * vkms_pci_vram_claim - lend a BAR to a VKMS device's VRAM
 * @name: the PCI device's name, as pci_name() gives it
 * @user: the VRAM
 * @phys: the BAR's CPU physical address
 * @size: the BAR's size
 *
 * Context: process context; takes vkms_pci_lock.
 *
 * Returns: the BAR, to give back with vkms_pci_vram_release(); or an
 * ERR_PTR: -ENODEV when no ivshmem-plain device of that name is bound,
 * -EBUSY when another VKMS device has it.
 */
struct vkms_pci_vram *vkms_pci_vram_claim(const char *name,
					  struct vkms_vram *user,
					  phys_addr_t *phys, u64 *size)
{
	struct vkms_pci_vram *pv;

	KUNIT_STATIC_STUB_REDIRECT(vkms_pci_vram_claim, name, user, phys, size);
	guard(mutex)(&vkms_pci_lock);
	list_for_each_entry(pv, &vkms_pci_vrams, link) {
		if (strcmp(pci_name(pv->pdev), name))
			continue;
		if (pv->user)
			return ERR_PTR(-EBUSY);
		pv->user = user;
		pv->ready = false;
		*phys = pv->phys;
		*size = pv->size;
		return pv;
	}
	return ERR_PTR(-ENODEV);
}
EXPORT_SYMBOL_IF_KUNIT(vkms_pci_vram_claim);

/**
 * vkms_pci_vram_ready - the VRAM on a claimed BAR is set up
 * @pv: the BAR
 *
 * From here on the PCI driver's remove() takes the VRAM down with
 * vkms_vram_bar_gone(); before, it leaves the half-made device alone, and
 * this tells it that the BAR went.
 *
 * Context: process context; takes vkms_pci_lock.
 *
 * Returns: 0, or -ENODEV when the device went away since the claim.
 */
int vkms_pci_vram_ready(struct vkms_pci_vram *pv)
{
	KUNIT_STATIC_STUB_REDIRECT(vkms_pci_vram_ready, pv);
	guard(mutex)(&vkms_pci_lock);
	if (!pv->bound)
		return -ENODEV;
	pv->ready = true;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_pci_vram_ready);

/**
 * vkms_pci_vram_provider - the P2PDMA provider of a claimed BAR
 * @pv: the BAR
 *
 * Context: any context, no lock: the device going away clears it, after
 * revoking every export that could still map it.
 *
 * Returns: the provider, or NULL once the device is gone.
 */
struct p2pdma_provider *vkms_pci_vram_provider(struct vkms_pci_vram *pv)
{
	KUNIT_STATIC_STUB_REDIRECT(vkms_pci_vram_provider, pv);
	return READ_ONCE(pv->provider);
}
EXPORT_SYMBOL_IF_KUNIT(vkms_pci_vram_provider);

/**
 * vkms_pci_vram_release - give back a BAR vkms_pci_vram_claim() lent
 * @pv: the BAR
 *
 * Call when the VRAM is released, before its TTM device and exporter are
 * torn down: remove() uses them until the BAR is given back. Frees @pv
 * when the device is gone already.
 *
 * Context: process context; takes vkms_pci_lock.
 */
void vkms_pci_vram_release(struct vkms_pci_vram *pv)
{
	bool free;

	KUNIT_STATIC_STUB_REDIRECT(vkms_pci_vram_release, pv);
	scoped_guard(mutex, &vkms_pci_lock) {
		pv->user = NULL;
		pv->ready = false;
		free = !pv->bound;
	}
	if (free) {
		pci_dev_put(pv->pdev);
		kfree(pv);
	}
}
EXPORT_SYMBOL_IF_KUNIT(vkms_pci_vram_release);

static int vkms_pci_vram_probe(struct pci_dev *pdev,
			       const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct vkms_pci_vram *pv;
	int ret;

	if (!(pci_resource_flags(pdev, IVSHMEM_BAR) & IORESOURCE_MEM) ||
	    !pci_resource_len(pdev, IVSHMEM_BAR))
		return dev_err_probe(dev, -ENODEV, "no memory BAR %d\n",
				     IVSHMEM_BAR);
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = pcim_request_region(pdev, IVSHMEM_BAR, "vkms-vram");
	if (ret)
		return ret;
	ret = pcim_p2pdma_init(pdev);
	if (ret)
		return dev_err_probe(dev, ret, "no P2PDMA for BAR %d\n",
				     IVSHMEM_BAR);

	pv = kzalloc_obj(*pv);
	if (!pv)
		return -ENOMEM;
	pv->pdev = pci_dev_get(pdev);
	pv->provider = pcim_p2pdma_provider(pdev, IVSHMEM_BAR);
	pv->phys = pci_resource_start(pdev, IVSHMEM_BAR);
	pv->size = pci_resource_len(pdev, IVSHMEM_BAR);
	pv->bound = true;
	if (!pv->provider) {
		pci_dev_put(pdev);
		kfree(pv);
		return -ENODEV;
	}
	pci_set_drvdata(pdev, pv);
	scoped_guard(mutex, &vkms_pci_lock)
		list_add_tail(&pv->link, &vkms_pci_vrams);
	dev_info(dev, "%llu MiB at %pa for VKMS VRAM (configfs vram_pci: %s)\n",
		 pv->size >> 20, &pv->phys, pci_name(pdev));
	return 0;
}

static void vkms_pci_vram_remove(struct pci_dev *pdev)
{
	struct vkms_pci_vram *pv = pci_get_drvdata(pdev);
	bool free;

	scoped_guard(mutex, &vkms_pci_lock) {
		list_del(&pv->link);
		pv->bound = false;
		/* The BAR is still there: the user lets go of it first. */
		if (pv->user && pv->ready)
			vkms_vram_bar_gone(pv->user);
		WRITE_ONCE(pv->provider, NULL);
		free = !pv->user;
	}
	if (free) {
		pci_dev_put(pv->pdev);
		kfree(pv);
	}
}

static const struct pci_device_id vkms_pci_vram_ids[] = {
	{ PCI_DEVICE(IVSHMEM_VENDOR, IVSHMEM_PLAIN) },
	{ }
};
MODULE_DEVICE_TABLE(pci, vkms_pci_vram_ids);

static struct pci_driver vkms_pci_vram_driver = {
	.name = "vkms-vram",
	.id_table = vkms_pci_vram_ids,
	.probe = vkms_pci_vram_probe,
	.remove = vkms_pci_vram_remove,
};

/**
 * vkms_pci_vram_register - register the ivshmem-plain driver
 *
 * Returns: 0 or a negative error code.
 */
int vkms_pci_vram_register(void)
{
	return pci_register_driver(&vkms_pci_vram_driver);
}

/**
 * vkms_pci_vram_unregister - unregister the ivshmem-plain driver
 */
void vkms_pci_vram_unregister(void)
{
	pci_unregister_driver(&vkms_pci_vram_driver);
}
