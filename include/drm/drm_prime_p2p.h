/* SPDX-License-Identifier: MIT */
/*
 * A peer-to-peer aware dma-buf exporter for TTM-backed GEM objects.
 */

#ifndef __DRM_PRIME_P2P_H__
#define __DRM_PRIME_P2P_H__

#include <linux/atomic.h>
#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/types.h>
#include <linux/wait.h>

#include <drm/ttm/ttm_resource.h>

struct dentry;
struct device;
struct dma_buf;
struct dma_buf_attachment;
struct dma_buf_ops;
struct drm_device;
struct drm_gem_object;
struct iosys_map;
struct p2pdma_provider;
struct phys_vec;
struct sg_table;
struct ttm_buffer_object;
struct ttm_operation_ctx;
struct ttm_placement;
struct ttm_resource;
struct vm_area_struct;

/**
 * enum drm_prime_p2p_map_kind - how an importer's mapping was made
 * @DRM_PRIME_P2P_MAP_NONE: not mapped
 * @DRM_PRIME_P2P_MAP_PCI: device memory, through the PCI P2PDMA provider
 *	(dma_buf_phys_vec_to_sgt_seg(): bus addresses or the IOVA API)
 * @DRM_PRIME_P2P_MAP_RESOURCE: device memory, through dma_map_phys(): as
 *	dma_map_resource() for MMIO, as pages for device memory that is RAM
 * @DRM_PRIME_P2P_MAP_DRIVER: device memory, through
 *	&drm_prime_p2p_funcs.map_ranges
 * @DRM_PRIME_P2P_MAP_PAGES: system memory pages, through dma_map_sgtable()
 */
enum drm_prime_p2p_map_kind {
	DRM_PRIME_P2P_MAP_NONE,
	DRM_PRIME_P2P_MAP_PCI,
	DRM_PRIME_P2P_MAP_RESOURCE,
	DRM_PRIME_P2P_MAP_DRIVER,
	DRM_PRIME_P2P_MAP_PAGES,
};

/**
 * struct drm_prime_p2p_funcs - driver hooks of the P2P dma-buf exporter
 *
 * @placement and @resource_ranges are required. The mapping hooks
 * (@resource_ranges, @provider, @map_ranges, @unmap_ranges) and @validate,
 * @pin and @unpin are called with the reservation lock of the object held;
 * @placement, @reachable and @private_reach may be called without it, from
 * attach.
 */
struct drm_prime_p2p_funcs {
	/**
	 * @placement: Every placement @obj may ever use, preferred first.
	 * The helper sorts them into device memory (a resource manager
	 * without &ttm_resource_manager.use_tt) and system memory, and
	 * validates the object against the part an importer can reach.
	 * The answer must not change over the life of the object. Required.
	 */
	const struct ttm_placement *(*placement)(struct drm_gem_object *obj);

	/**
	 * @reachable: Can the importer of @attach reach the device memory of
	 * type @mem_type peer-to-peer? Only asked when the importer allows
	 * peer2peer. Optional: by default an importer reaches device memory
	 * when @provider gives a PCI P2PDMA provider and pci_p2pdma_distance()
	 * between its device and the importer is not negative.
	 */
	bool (*reachable)(struct drm_gem_object *obj, u32 mem_type,
			  struct dma_buf_attachment *attach);

	/**
	 * @private_reach: Does the importer of @attach reach the device
	 * memory of type @mem_type over a link of the driver's own, not
	 * through the BAR (amdgpu's XGMI between devices of a hive)? Asked
	 * before @reachable, only when the importer allows peer2peer, and
	 * with the same rule for importers that cannot be told to unmap.
	 * Such an importer reaches that memory whatever the PCI topology
	 * says, and wherever in it the buffer is: a window
	 * (drm_prime_p2p_set_peer_window()) does not apply to it, and a
	 * buffer pinned for importers that all reach it so may be pinned
	 * beyond the window. The driver maps that memory for it with
	 * @map_ranges, where it has one (which can tell such an importer
	 * with this hook); without, the importer's map fails with
	 * -EOPNOTSUPP, as amdgpu's does for an XGMI importer, which uses
	 * the exporter's resource directly. Optional.
	 */
	bool (*private_reach)(struct drm_gem_object *obj, u32 mem_type,
			      struct dma_buf_attachment *attach);

	/**
	 * @resource_ranges: The physical ranges of device memory that back
	 * @res, in order; *@ranges is allocated with kvmalloc() and freed by
	 * the helper. Returns the number of ranges or a negative error code.
	 * Called with the reservation lock held, once per resource and
	 * export: the helper keeps the answer until
	 * drm_prime_p2p_move_notify() says the buffer moves (or its export is
	 * revoked or released), so the driver calls that wherever the
	 * resource changes. Required: only the driver
	 * knows whether its resource manager hands out contiguous resources;
	 * one whose manager always does (TTM's range manager) sets it to
	 * drm_prime_p2p_contiguous_ranges().
	 */
	int (*resource_ranges)(struct drm_gem_object *obj,
			       struct ttm_resource *res,
			       struct phys_vec **ranges);

	/**
	 * @provider: The PCI P2PDMA provider of the device memory of type
	 * @mem_type, or NULL when it is not PCI memory. Optional.
	 */
	struct p2pdma_provider *(*provider)(struct drm_gem_object *obj,
					    u32 mem_type);

	/**
	 * @map_ranges: Map @nr @ranges of device memory without a PCI
	 * provider, or reached over a private link (@private_reach), for
	 * @attach. Optional: by default each range is mapped with
	 * dma_map_phys(), as MMIO (dma_map_resource()) unless it is RAM.
	 */
	struct sg_table *(*map_ranges)(struct dma_buf_attachment *attach,
				       const struct phys_vec *ranges,
				       unsigned int nr,
				       enum dma_data_direction dir);

	/**
	 * @unmap_ranges: Undo @map_ranges. Required with @map_ranges.
	 */
	void (*unmap_ranges)(struct dma_buf_attachment *attach,
			     struct sg_table *sgt,
			     enum dma_data_direction dir);

	/**
	 * @max_segment: The longest DMA segment of device memory the helper
	 * hands an importer, a multiple of the page size, or 0 for the
	 * importer's limits alone (dma_get_max_seg_size(), and what a
	 * scatterlist entry holds). amdgpu and xe cap their entries at 2 GiB.
	 * Not for @map_ranges, which makes its own entries.
	 */
	size_t max_segment;

	/**
	 * @pinned_p2p: Device memory may also be given to importers that
	 * cannot be told to drop their mappings (no
	 * &dma_buf_attach_ops.invalidate_mappings: RDMA's pinned umem, a
	 * pinning V4L2 importer). Set it only when the device memory stays
	 * valid for as long as any export of the device lives, not just until
	 * drm_prime_p2p_revoke(): memory freed with the last reference to the
	 * device, as RAM-backed virtual VRAM is. By default such importers
	 * get system memory, as VFIO gives device memory only to revocable
	 * importers, so that no importer holds a mapping of device memory
	 * after the driver released it at removal. amdgpu and xe set it
	 * for their BARs all the same, to keep pinning in VRAM for RDMA NICs
	 * without ODP, and accept that such a pin's mapping outlives the
	 * device's removal, as it did before they used the helper.
	 */
	bool pinned_p2p;

	/**
	 * @contiguous_placement: System memory in one physically contiguous
	 * range. Optional. An importer that pins the buffer in system memory
	 * and whose DMA is not translated by an IOMMU gets the buffer in it
	 * where it can be had: such an importer (vb2-dma-contig, a driver of
	 * the DMA GEM helper) can use only one contiguous DMA range, which
	 * pages of TTM's pool are beyond 2^MAX_PAGE_ORDER pages only by luck.
	 * Not for an importer whose DMA is bounced anyway (swiotlb=force).
	 * Its placements must be of memory types whose resources keep their
	 * pages in a &ttm_tt, and listed in @placement too. A move into them
	 * may give the buffer other pages: drm_prime_p2p_move_notify() tells
	 * the importers of such a move as of a move out of device memory.
	 * The driver allocates the memory for its own device: an importer
	 * with a narrower DMA mask gets it bounced, in pieces. When it cannot
	 * be had (the driver's validation fails with -ENOMEM or -ENOSPC), the
	 * helper pins in the other system placements, and the importer
	 * decides what it can do with the pages it maps.
	 */
	const struct ttm_placement *(*contiguous_placement)(struct drm_gem_object *obj);

	/**
	 * @validate: Validate @obj into @placement, as ttm_bo_validate()
	 * does, for a driver with rules of its own: a validation context,
	 * accounting, eviction it arranges. @placement is what @placement
	 * (the hook) gives filtered for the importers, or
	 * @contiguous_placement, with the device memory peers reach through
	 * a window (drm_prime_p2p_set_peer_window()) clamped to it. @ctx is
	 * interruptible; a driver whose validation must not be interrupted
	 * (amdgpu maps with an uninterruptible context) validates with a
	 * context of its own. Optional: by default ttm_bo_validate().
	 */
	int (*validate)(struct drm_gem_object *obj,
			struct ttm_placement *placement,
			struct ttm_operation_ctx *ctx);

	/**
	 * @pin: Pin @obj where it is, with ttm_bo_pin() (the helper reads
	 * &ttm_buffer_object.pin_count): the helper placed it for the
	 * importers first and checked them against that resource, so a pin
	 * that moves it fails with -EBUSY and a warning. For a driver whose
	 * pin counts (visible VRAM, pinned memory accounting) or keeps
	 * pinned buffers on a list of its own (suspend and resume); it may
	 * refuse, with an error the importer gets. Optional, with @unpin: by
	 * default ttm_bo_pin(), which cannot fail.
	 */
	int (*pin)(struct drm_gem_object *obj);

	/**
	 * @unpin: Undo @pin. Required with @pin.
	 */
	void (*unpin)(struct drm_gem_object *obj);

	/**
	 * @dmabuf_ops: The dma-buf callbacks to export with, for a driver
	 * that wraps some of the helper's (runtime PM around attach and
	 * detach, its own bookkeeping) or tells its own buffers by their
	 * &dma_buf.ops. Each must be the helper's drm_prime_p2p_dmabuf_*()
	 * callback or call it; attach, detach, pin, unpin, map_dma_buf,
	 * unmap_dma_buf and release are required. A wrapper of attach calls
	 * the helper's last, or undoes it with drm_prime_p2p_dmabuf_detach()
	 * when it fails after it; one that may not give device memory to
	 * this importer (a peer it cannot be while runtime suspended) clears
	 * &dma_buf_attachment.peer2peer, which pin and map honour. A wrapper
	 * of release does its own work first: the helper's drops the
	 * reference on the object. Optional: by default
	 * drm_prime_p2p_dmabuf_ops.
	 */
	const struct dma_buf_ops *dmabuf_ops;
};

/**
 * struct drm_prime_p2p_object - the P2P exporter's link from a buffer object
 *	to its exports
 *
 * Embedded in the driver's buffer object, zero-initialised, and passed to
 * drm_prime_p2p_export() and drm_prime_p2p_move_notify(). The helper finds
 * the object's live exports through it, not through &drm_gem_object.dma_buf:
 * the GEM core clears that when the last handle of the object is closed,
 * while the dma-buf lives on in its file descriptors and its importers,
 * which must still be told when the buffer moves.
 */
struct drm_prime_p2p_object {
	/* private: */
	/* The object's live exports; under the object's reservation lock. */
	struct hlist_head exports;
};

/**
 * drm_prime_p2p_object_exported - does a buffer object have live exports?
 * @pobj: the helper's state in the driver's buffer object
 *
 * Unlike a test of &drm_gem_object.dma_buf, true for as long as an export
 * of the object lives, also after its last GEM handle was closed: for a
 * driver that treats exported buffers apart (xe keeps their contents at
 * device removal).
 *
 * Context: the reservation lock of the object held.
 *
 * Returns: true while the object has an export not yet released.
 */
static inline bool
drm_prime_p2p_object_exported(const struct drm_prime_p2p_object *pobj)
{
	return !hlist_empty(&pobj->exports);
}

/**
 * struct drm_prime_p2p_device - a device that exports through the helper
 *
 * Embedded in the driver's device structure and set up with
 * drm_prime_p2p_device_init(). It must outlive every buffer exported through
 * it, which holds as long as it lives in memory owned by the &drm_device
 * (each export holds a reference on it).
 */
struct drm_prime_p2p_device {
	/** @drm: the exporting device */
	struct drm_device *drm;
	/** @funcs: the driver's hooks */
	const struct drm_prime_p2p_funcs *funcs;
	/** @lock: protects @exports, @revoked and @debugfs */
	struct mutex lock;
	/** @exports: the live exports of this device */
	struct list_head exports;
	/** @revoked: set by drm_prime_p2p_revoke() */
	bool revoked;
	/**
	 * @device_mapped: importer mappings of device memory outstanding,
	 * across all exports: what drm_prime_p2p_revoke() waits for (system
	 * memory pages do not go away with the device)
	 */
	atomic_t device_mapped;
	/** @unmapped: woken when @device_mapped drops to zero */
	wait_queue_head_t unmapped;
	/** @debugfs: the device's directory in drm_prime_p2p/ of debugfs */
	struct dentry *debugfs;
	/**
	 * @peer_lpfn: per memory type, the first page peers do not reach
	 * (drm_prime_p2p_set_peer_window()), 0 for all of it
	 */
	unsigned long peer_lpfn[TTM_NUM_MEM_TYPES];
};

int drm_prime_p2p_device_init(struct drm_prime_p2p_device *p2p,
			      struct drm_device *drm,
			      const struct drm_prime_p2p_funcs *funcs);
void drm_prime_p2p_device_fini(struct drm_prime_p2p_device *p2p);
int drm_prime_p2p_set_peer_window(struct drm_prime_p2p_device *p2p,
				  u32 mem_type, u64 size);

struct dma_buf *drm_prime_p2p_export(struct drm_prime_p2p_device *p2p,
				     struct drm_prime_p2p_object *pobj,
				     struct drm_gem_object *obj, int flags);

/*
 * The helper's dma-buf callbacks, exported for a driver that exports with
 * its own set around them (&drm_prime_p2p_funcs.dmabuf_ops), and the set
 * drm_prime_p2p_export() uses by default.
 */
extern const struct dma_buf_ops drm_prime_p2p_dmabuf_ops;
int drm_prime_p2p_dmabuf_attach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach);
void drm_prime_p2p_dmabuf_detach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach);
int drm_prime_p2p_dmabuf_pin(struct dma_buf_attachment *attach);
void drm_prime_p2p_dmabuf_unpin(struct dma_buf_attachment *attach);
struct sg_table *drm_prime_p2p_dmabuf_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir);
void drm_prime_p2p_dmabuf_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir);
void drm_prime_p2p_dmabuf_release(struct dma_buf *dmabuf);
int drm_prime_p2p_dmabuf_mmap(struct dma_buf *dmabuf,
			      struct vm_area_struct *vma);
int drm_prime_p2p_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map);
void drm_prime_p2p_dmabuf_vunmap(struct dma_buf *dmabuf,
				 struct iosys_map *map);
int drm_prime_p2p_dmabuf_begin_cpu_access(struct dma_buf *dmabuf,
					  enum dma_data_direction dir);
int drm_prime_p2p_dmabuf_end_cpu_access(struct dma_buf *dmabuf,
					enum dma_data_direction dir);
struct drm_gem_object *drm_prime_p2p_gem_prime_import(struct drm_device *dev,
						      struct dma_buf *dma_buf);
bool drm_prime_p2p_is_export(const struct dma_buf *dma_buf);
struct drm_gem_object *
drm_prime_p2p_exported_object(const struct dma_buf *dma_buf);
bool drm_prime_p2p_export_revoked(struct dma_buf *dma_buf);

bool drm_prime_p2p_move_notify(struct drm_prime_p2p_object *pobj,
			       struct ttm_buffer_object *bo,
			       const struct ttm_resource *new_mem);
void drm_prime_p2p_revoke(struct drm_prime_p2p_device *p2p,
			  unsigned long timeout);
int drm_prime_p2p_contiguous_ranges(struct drm_gem_object *obj,
				    struct ttm_resource *res,
				    struct phys_vec **ranges);

enum drm_prime_p2p_map_kind
drm_prime_p2p_attachment_kind(struct dma_buf_attachment *attach);
unsigned int
drm_prime_p2p_attachment_invalidations(struct dma_buf_attachment *attach);

#if IS_ENABLED(CONFIG_KUNIT)
int drm_prime_p2p_may_fail(void);
bool drm_prime_p2p_attachment_mmio(struct dma_buf_attachment *attach);
unsigned int drm_prime_p2p_mappings(struct drm_prime_p2p_device *p2p);
size_t drm_prime_p2p_footprint(struct dma_buf_attachment *attach,
			       size_t *export_bytes, size_t *attach_bytes);
#endif

/**
 * DRM_PRIME_P2P_DRIVER_OPS - &drm_driver fields of a driver that exports
 *	through the P2P helper
 *
 * The driver still sets &drm_gem_object_funcs.export of its objects to a
 * function that calls drm_prime_p2p_export() with its
 * &drm_prime_p2p_device.
 */
#define DRM_PRIME_P2P_DRIVER_OPS \
	.gem_prime_import = drm_prime_p2p_gem_prime_import

#endif /* __DRM_PRIME_P2P_H__ */
