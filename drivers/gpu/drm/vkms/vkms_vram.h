/* SPDX-License-Identifier: GPL-2.0+ */

#ifndef _VKMS_VRAM_H_
#define _VKMS_VRAM_H_

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

/**
 * struct vkms_vram - the virtual VRAM of a VKMS device
 *
 * @bdev: the TTM device; VRAM is TTM_PL_VRAM, system memory TTM_PL_TT
 * @p2p: the device's P2P dma-buf exporter
 * @pages: the physically contiguous memory that backs VRAM
 * @dma: the address of @pages for the VKMS device, unused but for freeing
 * @phys: the physical address of @pages
 * @vaddr: the kernel address of @pages
 * @size: the size of VRAM in bytes
 * @policy: which importers reach VRAM directly
 */
struct vkms_vram {
	struct ttm_device bdev;
	struct drm_prime_p2p_device p2p;
	struct page *pages;
	dma_addr_t dma;
	phys_addr_t phys;
	void *vaddr;
	u64 size;
	enum vkms_p2p_policy policy;
};

/**
 * struct vkms_bo - a buffer object of a VKMS device with VRAM
 *
 * @tbo: the TTM buffer object, with the GEM object in it
 */
struct vkms_bo {
	struct ttm_buffer_object tbo;
};

static inline struct vkms_bo *to_vkms_bo(struct drm_gem_object *obj)
{
	return container_of(obj, struct vkms_bo, tbo.base);
}

int vkms_vram_parse_size(const char *str, u64 *size);
bool vkms_vram_size_fits(u64 size);
int vkms_vram_parse_policy(const char *str, enum vkms_p2p_policy *policy);
const char *vkms_vram_policy_name(enum vkms_p2p_policy policy);

int vkms_vram_init(struct vkms_device *vkmsdev, u64 size,
		   enum vkms_p2p_policy policy);
void vkms_vram_revoke(struct vkms_device *vkmsdev);

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

#endif /* _VKMS_VRAM_H_ */
