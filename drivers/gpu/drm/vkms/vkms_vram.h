/* SPDX-License-Identifier: GPL-2.0+ */

#ifndef _VKMS_VRAM_H_
#define _VKMS_VRAM_H_

#include <linux/err.h>
#include <linux/types.h>

#include <drm/drm_fbdev_ttm.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime_p2p.h>
#include <drm/ttm/ttm_bo.h>
#include <drm/ttm/ttm_device.h>

struct dma_buf;
struct drm_device;
struct drm_file;
struct drm_mode_create_dumb;
struct vkms_device;
struct vkms_pci_vram;
struct p2pdma_provider;

/**
 * enum vkms_p2p_policy - which importers reach a device's VRAM directly
 *
 * @VKMS_P2P_NONE: none: every importer gets system memory pages, and a
 *	buffer in VRAM migrates when it is mapped
 * @VKMS_P2P_VKMS: other VKMS devices with VRAM, which import dynamically
 *	and allow peer-to-peer; every other importer gets system memory
 * @VKMS_P2P_ALL: every importer that allows peer-to-peer
 */
enum vkms_p2p_policy {
	VKMS_P2P_NONE,
	VKMS_P2P_VKMS,
	VKMS_P2P_ALL,
};

/*
 * System memory in one physically contiguous range, for importers that pin
 * and map without an IOMMU (see &drm_prime_p2p_funcs.contiguous_placement).
 */
#define VKMS_PL_CONTIG	TTM_PL_PRIV

/**
 * struct vkms_vram - the virtual VRAM of a VKMS device
 *
 * @bdev: the TTM device; VRAM is TTM_PL_VRAM, system memory TTM_PL_TT, and
 *	physically contiguous system memory VKMS_PL_CONTIG
 * @p2p: the device's P2P dma-buf exporter
 * @pages: the physically contiguous memory that backs VRAM, or NULL
 * @dma: the address of @pages for the VKMS device, unused but for freeing
 * @pci: the PCI BAR that backs VRAM instead, or NULL
 * @phys: the physical address of VRAM
 * @vaddr: the kernel address of VRAM
 * @size: the size of VRAM in bytes; 0 once a PCI BAR behind it is gone
 * @policy: which importers reach VRAM directly, for VRAM in system memory
 */
struct vkms_vram {
	struct ttm_device bdev;
	struct drm_prime_p2p_device p2p;
	struct page *pages;
	dma_addr_t dma;
	struct vkms_pci_vram *pci;
	phys_addr_t phys;
	void *vaddr;
	u64 size;
	enum vkms_p2p_policy policy;
};

/**
 * struct vkms_bo - a buffer object of a VKMS device with VRAM
 *
 * @tbo: the TTM buffer object, with the GEM object in it
 * @p2p: the P2P exporter's link to the buffer's exports
 */
struct vkms_bo {
	struct ttm_buffer_object tbo;
	struct drm_prime_p2p_object p2p;
};

static inline struct vkms_bo *to_vkms_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct vkms_bo, tbo.base);
}

static inline struct vkms_bo *ttm_to_vkms_bo(struct ttm_buffer_object *tbo)
{
	return container_of(tbo, struct vkms_bo, tbo);
}

int vkms_vram_parse_size(const char *str, u64 *size);
bool vkms_vram_size_fits(u64 size);
int vkms_vram_parse_policy(const char *str, enum vkms_p2p_policy *policy);
const char *vkms_vram_policy_name(enum vkms_p2p_policy policy);

int vkms_vram_init(struct vkms_device *vkmsdev, u64 size, u64 visible,
		   enum vkms_p2p_policy policy, const char *pci);
void vkms_vram_revoke(struct vkms_device *vkmsdev);
void vkms_vram_bar_gone(struct vkms_vram *vram);

struct vkms_bo *vkms_bo_create(struct vkms_device *vkmsdev, size_t size);
bool vkms_bo_is_vkms(struct drm_gem_object *obj);
int vkms_vram_dumb_create(struct drm_file *file, struct drm_device *dev,
			  struct drm_mode_create_dumb *args);
struct drm_gem_object *vkms_vram_gem_prime_import(struct drm_device *dev,
						  struct dma_buf *dma_buf);

/*
 * The &drm_driver fields of a VKMS device with VRAM: dumb buffers are TTM
 * buffer objects that prefer VRAM, exported through the P2P helper; fbdev
 * goes through a shadow buffer, as for any TTM driver.
 */
#define VKMS_VRAM_DRIVER_OPS \
	.dumb_create		= vkms_vram_dumb_create, \
	.gem_prime_import	= vkms_vram_gem_prime_import, \
	DRM_FBDEV_TTM_DRIVER_OPS

#if IS_ENABLED(CONFIG_PCI)
int vkms_pci_vram_register(void);
void vkms_pci_vram_unregister(void);
struct vkms_pci_vram *vkms_pci_vram_claim(const char *name,
					  struct vkms_vram *user,
					  phys_addr_t *phys, u64 *size);
int vkms_pci_vram_ready(struct vkms_pci_vram *pv);
struct p2pdma_provider *vkms_pci_vram_provider(struct vkms_pci_vram *pv);
void vkms_pci_vram_release(struct vkms_pci_vram *pv);
#else
static inline int vkms_pci_vram_register(void)
{
	return 0;
}

static inline void vkms_pci_vram_unregister(void)
{
}

static inline struct vkms_pci_vram *
vkms_pci_vram_claim(const char *name, struct vkms_vram *user,
		    phys_addr_t *phys, u64 *size)
{
	return ERR_PTR(-ENODEV);
}

static inline int vkms_pci_vram_ready(struct vkms_pci_vram *pv)
{
	return -ENODEV;
}

static inline struct p2pdma_provider *
vkms_pci_vram_provider(struct vkms_pci_vram *pv)
{
	return NULL;
}

static inline void vkms_pci_vram_release(struct vkms_pci_vram *pv)
{
}
#endif

#endif /* _VKMS_VRAM_H_ */
