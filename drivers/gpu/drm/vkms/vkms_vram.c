// SPDX-License-Identifier: GPL-2.0+
/*
 * Virtual VRAM for VKMS: a device-memory domain managed by TTM and exported
 * through the P2P dma-buf helper, so that every branch of the helper's
 * decisions can be driven from userspace without a GPU.
 *
 * VRAM is physically contiguous system memory reserved with dma_alloc_pages()
 * for the VKMS device when the device is created: the contiguous memory
 * allocator (CMA) when the kernel has one, and the page allocator (up to
 * MAX_PAGE_ORDER) otherwise. dma_alloc_pages() is the one interface that
 * gives a module contiguous memory of any size CMA allows, with no reserved
 * region to describe on x86, and it returns struct pages, so VKMS can reach
 * VRAM through the kernel's linear map and the helper sees RAM it may map
 * for any importer with dma_map_phys(). The ranges the helper maps are the
 * physical addresses of VRAM itself, so an importer that reaches VRAM
 * directly gets addresses inside it, and one that does not gets the pages
 * of the buffer's copy in system memory.
 *
 * VRAM can instead be the BAR of a PCI device (vkms_pci_vram.c): then the
 * PCI P2PDMA topology, not the policy, decides which importers reach it,
 * and the helper maps it through the device's P2PDMA provider. The BAR is
 * mapped write-back: it is memory the host provides, and VKMS's composer
 * reads buffers through plain pointers.
 */

#include <linux/cgroup_dmem.h>
#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/string.h>

#include <kunit/visibility.h>

#include <drm/drm_drv.h>
#include <drm/drm_dumb_buffers.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_gem_ttm_helper.h>
#include <drm/drm_managed.h>
#include <drm/drm_prime.h>
#include <drm/drm_print.h>
#include <drm/ttm/ttm_placement.h>
#include <drm/ttm/ttm_range_manager.h>
#include <drm/ttm/ttm_tt.h>

#include "vkms_drv.h"
#include "vkms_vram.h"

/* How long device removal waits for importers to drop their mappings. */
#define VKMS_REVOKE_TIMEOUT_MS	5000

static const char * const vkms_policy_names[] = {
	[VKMS_P2P_NONE] = "none",
	[VKMS_P2P_VKMS] = "vkms",
	[VKMS_P2P_ALL] = "all",
};

/*
 * Every placement a VKMS buffer may use, as the helper wants them: VRAM
 * first, then system memory, with no preference flags, so that a buffer in
 * system memory is where a placement of system memory alone wants it.
 */
static const struct ttm_place vkms_domains[] = {
	{ .mem_type = TTM_PL_VRAM },
	{ .mem_type = TTM_PL_TT },
	{ .mem_type = VKMS_PL_CONTIG },
};

static const struct ttm_placement vkms_domain_placement = {
	.num_placement = ARRAY_SIZE(vkms_domains),
	.placement = vkms_domains,
};

/*
 * Where VKMS puts a buffer it creates: VRAM, evicting others when it is
 * full, and system memory when it cannot be had.
 */
static const struct ttm_place vkms_prefer_vram[] = {
	{ .mem_type = TTM_PL_VRAM },
	{ .mem_type = TTM_PL_TT, .flags = TTM_PL_FLAG_FALLBACK },
};

static struct ttm_placement vkms_prefer_vram_placement = {
	.num_placement = ARRAY_SIZE(vkms_prefer_vram),
	.placement = vkms_prefer_vram,
};

/* Where it brings a buffer back to when it is scanned out or mapped. */
static const struct ttm_place vkms_vram_place = { .mem_type = TTM_PL_VRAM };

static struct ttm_placement vkms_vram_placement = {
	.num_placement = 1,
	.placement = &vkms_vram_place,
};

static const struct ttm_place vkms_tt_place = { .mem_type = TTM_PL_TT };

static struct ttm_placement vkms_tt_placement = {
	.num_placement = 1,
	.placement = &vkms_tt_place,
};

static const struct ttm_place vkms_sys_place = { .mem_type = TTM_PL_SYSTEM };

static const struct ttm_place vkms_contig_place = { .mem_type = VKMS_PL_CONTIG };

static const struct ttm_placement vkms_contig_placement = {
	.num_placement = 1,
	.placement = &vkms_contig_place,
};

/*
 * The pages of a buffer in system memory: from TTM's pool, or one physically
 * contiguous allocation once the buffer went to VKMS_PL_CONTIG. The pages
 * stay contiguous when the buffer moves on to other system placements.
 */
struct vkms_tt {
	struct ttm_tt tt;
	struct page *contig;
	dma_addr_t dma;
};

static struct vkms_tt *to_vkms_tt(struct ttm_tt *tt)
{
	return container_of(tt, struct vkms_tt, tt);
}

static struct vkms_vram *to_vram(struct ttm_device *bdev)
{
	return container_of(bdev, struct vkms_vram, bdev);
}

static struct vkms_vram *obj_to_vram(struct drm_gem_object *obj)
{
	return drm_device_to_vkms_device(obj->dev)->vram;
}

/**
 * vkms_vram_parse_size - parse a VRAM size
 * @str: a size in bytes, with an optional K, M or G suffix, optionally
 *	followed by a newline
 * @size: the size
 *
 * Zero turns VRAM off. Otherwise the size must be a multiple of the page
 * size; vkms_vram_size_fits() says whether the system can hold it.
 *
 * Returns: 0, or -EINVAL for a malformed or unaligned size.
 */
int vkms_vram_parse_size(const char *str, u64 *size)
{
	char *end;
	u64 val;

	str = skip_spaces(str);
	if (!isdigit(*str))
		return -EINVAL;
	val = memparse(str, &end);
	if (*skip_spaces(end) || !PAGE_ALIGNED(val))
		return -EINVAL;
	*size = val;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_vram_parse_size);

/**
 * vkms_vram_size_fits - can the system hold VRAM of this size?
 * @size: the size in bytes
 *
 * VRAM must leave the system at least half of its memory.
 *
 * Returns: true when @size is at most half the system's memory.
 */
bool vkms_vram_size_fits(u64 size)
{
	return size <= ((u64)totalram_pages() << PAGE_SHIFT) / 2;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_vram_size_fits);

/**
 * vkms_vram_parse_policy - parse a peer-to-peer policy
 * @str: "none", "vkms" or "all", optionally followed by a newline
 * @policy: the policy
 *
 * Returns: 0, or -EINVAL for any other string.
 */
int vkms_vram_parse_policy(const char *str, enum vkms_p2p_policy *policy)
{
	int i = sysfs_match_string(vkms_policy_names, str);

	if (i < 0)
		return -EINVAL;
	*policy = i;
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_vram_parse_policy);

/**
 * vkms_vram_policy_name - the name of a peer-to-peer policy
 * @policy: the policy
 *
 * Returns: its name, as vkms_vram_parse_policy() takes it.
 */
const char *vkms_vram_policy_name(enum vkms_p2p_policy policy)
{
	return policy < ARRAY_SIZE(vkms_policy_names) ?
	       vkms_policy_names[policy] : "invalid";
}
EXPORT_SYMBOL_IF_KUNIT(vkms_vram_policy_name);

static struct ttm_tt *vkms_ttm_tt_create(struct ttm_buffer_object *bo,
					 u32 page_flags)
{
	struct vkms_tt *vtt = kzalloc_obj(*vtt);

	if (!vtt)
		return NULL;
	if (ttm_tt_init(&vtt->tt, bo, page_flags, ttm_cached, 0)) {
		kfree(vtt);
		return NULL;
	}
	return &vtt->tt;
}

static void vkms_ttm_tt_destroy(struct ttm_device *bdev, struct ttm_tt *tt)
{
	ttm_tt_fini(tt);
	kfree(to_vkms_tt(tt));
}

static int vkms_ttm_tt_populate(struct ttm_device *bdev, struct ttm_tt *tt,
				struct ttm_operation_ctx *ctx)
{
	return ttm_pool_alloc(&bdev->pool, tt, ctx);
}

static void vkms_ttm_tt_unpopulate(struct ttm_device *bdev, struct ttm_tt *tt)
{
	struct vkms_tt *vtt = to_vkms_tt(tt);

	if (!vtt->contig) {
		ttm_pool_free(&bdev->pool, tt);
		return;
	}
	dma_free_pages(to_vram(bdev)->p2p.drm->dev,
		       (size_t)tt->num_pages << PAGE_SHIFT,
		       vtt->contig, vtt->dma, DMA_BIDIRECTIONAL);
	vtt->contig = NULL;
}

/*
 * Give the populated pages of @bo one physically contiguous allocation in
 * their stead, with their content if @copy: CMA's for more than
 * MAX_PAGE_ORDER, as VRAM is reserved. -ENOMEM when it cannot be had; the
 * pages stay. The helper was told of the move (the pages change).
 */
static int vkms_tt_make_contiguous(struct ttm_buffer_object *bo, bool copy)
{
	struct vkms_tt *vtt = to_vkms_tt(bo->ttm);
	struct ttm_tt *tt = &vtt->tt;
	struct page *contig;
	dma_addr_t dma;
	pgoff_t i;

	if (vtt->contig)
		return 0;
	contig = dma_alloc_pages(to_vram(bo->bdev)->p2p.drm->dev,
				 (size_t)tt->num_pages << PAGE_SHIFT, &dma,
				 DMA_BIDIRECTIONAL, GFP_KERNEL | __GFP_NOWARN);
	if (!contig)
		return -ENOMEM;
	for (i = 0; copy && i < tt->num_pages; i++)
		copy_highpage(contig + i, tt->pages[i]);
	ttm_pool_free(&bo->bdev->pool, tt);
	for (i = 0; i < tt->num_pages; i++)
		tt->pages[i] = contig + i;
	vtt->contig = contig;
	vtt->dma = dma;
	return 0;
}

/*
 * VRAM is evicted to system memory, and system memory, contiguous or not,
 * swapped out.
 */
static void vkms_evict_flags(struct ttm_buffer_object *bo,
			     struct ttm_placement *placement)
{
	placement->num_placement = 1;
	placement->placement = bo->resource->mem_type == TTM_PL_VRAM ?
			       &vkms_tt_place : &vkms_sys_place;
}

/*
 * Memory handed to userspace holds no one else's data. System memory comes
 * cleared from TTM's pool (device buffers allocate with
 * TTM_TT_FLAG_ZERO_ALLOC); VRAM a new buffer gets may hold what a freed or
 * evicted buffer left there, so it is cleared here. A CPU memset: VKMS VRAM
 * is memory the CPU reaches through the kernel's linear map or a write-back
 * mapping of the BAR.
 */
static void vkms_vram_clear(struct vkms_vram *vram, struct ttm_resource *res)
{
	memset(vram->vaddr + ((size_t)res->start << PAGE_SHIFT), 0, res->size);
}

static int vkms_move(struct ttm_buffer_object *bo, bool evict,
		     struct ttm_operation_ctx *ctx,
		     struct ttm_resource *new_mem, struct ttm_place *hop)
{
	struct ttm_resource *old = bo->resource;
	int ret;

	drm_prime_p2p_move_notify(&ttm_to_vkms_bo(bo)->p2p, bo, new_mem);

	/*
	 * A CPU copy below, of VRAM or into contiguous pages: the work of the
	 * device and the importers on the buffer must be done first
	 * (ttm_bo_move_memcpy() waits only after it copied).
	 */
	if (new_mem->mem_type == VKMS_PL_CONTIG ||
	    (old && (old->mem_type == TTM_PL_VRAM ||
		     new_mem->mem_type == TTM_PL_VRAM))) {
		ret = ttm_bo_wait_ctx(bo, ctx);
		if (ret)
			return ret;
	}
	/*
	 * TTM populated the pages; contiguous ones take their place, with
	 * what they hold unless VRAM's content, or none, is to come.
	 */
	if (new_mem->mem_type == VKMS_PL_CONTIG) {
		ret = vkms_tt_make_contiguous(bo, old &&
					      old->mem_type != TTM_PL_VRAM);
		if (ret)
			return ret;
	}
	/*
	 * A new buffer has no content to copy: its VRAM is cleared; its
	 * system memory comes cleared.
	 */
	if (!old) {
		if (new_mem->mem_type == TTM_PL_VRAM)
			vkms_vram_clear(to_vram(bo->bdev), new_mem);
		ttm_bo_move_null(bo, new_mem);
		return 0;
	}
	/* Between system placements the pages stay. */
	if (old->mem_type != TTM_PL_VRAM && new_mem->mem_type != TTM_PL_VRAM) {
		ttm_bo_move_null(bo, new_mem);
		return 0;
	}
	/* Copies the content; clears VRAM for a buffer that has none yet. */
	return ttm_bo_move_memcpy(bo, ctx, new_mem);
}

static void vkms_swap_notify(struct ttm_buffer_object *bo)
{
	drm_prime_p2p_move_notify(&ttm_to_vkms_bo(bo)->p2p, bo, NULL);
}

static int vkms_io_mem_reserve(struct ttm_device *bdev,
			       struct ttm_resource *mem)
{
	struct vkms_vram *vram = to_vram(bdev);
	size_t off = (size_t)mem->start << PAGE_SHIFT;

	if (mem->mem_type != TTM_PL_VRAM)
		return 0;

	/*
	 * VRAM is device memory to TTM, reached through bus.addr, which it
	 * uses as it is instead of ioremapping bus.offset; the helper maps
	 * bus.offset, the physical address, for importers.
	 */
	mem->bus.offset = vram->phys + off;
	mem->bus.addr = vram->vaddr + off;
	mem->bus.is_iomem = true;
	mem->bus.caching = ttm_cached;
	return 0;
}

static const struct ttm_device_funcs vkms_ttm_funcs = {
	.ttm_tt_create = vkms_ttm_tt_create,
	.ttm_tt_destroy = vkms_ttm_tt_destroy,
	.ttm_tt_populate = vkms_ttm_tt_populate,
	.ttm_tt_unpopulate = vkms_ttm_tt_unpopulate,
	.eviction_valuable = ttm_bo_eviction_valuable,
	.evict_flags = vkms_evict_flags,
	.move = vkms_move,
	.swap_notify = vkms_swap_notify,
	.io_mem_reserve = vkms_io_mem_reserve,
};

static const struct dma_buf_attach_ops vkms_import_ops;

static const struct ttm_placement *vkms_p2p_placement(struct drm_gem_object *obj)
{
	return &vkms_domain_placement;
}

static bool vkms_p2p_reachable(struct drm_gem_object *obj, u32 mem_type,
			       struct dma_buf_attachment *attach)
{
	switch (obj_to_vram(obj)->policy) {
	case VKMS_P2P_ALL:
		return true;
	case VKMS_P2P_VKMS:
		return attach->importer_ops == &vkms_import_ops;
	default:
		return false;
	}
}

static const struct ttm_placement *
vkms_p2p_contiguous_placement(struct drm_gem_object *obj)
{
	return &vkms_contig_placement;
}

/*
 * VRAM in system memory is freed with the DRM device, after the last export
 * of it is released: an importer that pins without being able to be told to
 * unmap (vb2-dma-contig) may have it.
 */
static const struct drm_prime_p2p_funcs vkms_p2p_funcs = {
	.placement = vkms_p2p_placement,
	.reachable = vkms_p2p_reachable,
	/* TTM's range manager: a resource is one contiguous range. */
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.pinned_p2p = true,
	.contiguous_placement = vkms_p2p_contiguous_placement,
};

static struct p2pdma_provider *vkms_p2p_provider(struct drm_gem_object *obj,
						 u32 mem_type)
{
	struct vkms_vram *vram = obj_to_vram(obj);

	return mem_type == TTM_PL_VRAM ? vkms_pci_vram_provider(vram->pci) : NULL;
}

/*
 * VRAM on a PCI BAR: the P2PDMA topology decides, the provider maps. The BAR
 * goes when the PCI device is removed, exports or not: only importers that
 * can be told to unmap get it (the default), pinned ones system memory.
 */
static const struct drm_prime_p2p_funcs vkms_pci_p2p_funcs = {
	.placement = vkms_p2p_placement,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.provider = vkms_p2p_provider,
	.contiguous_placement = vkms_p2p_contiguous_placement,
};

static void vkms_bo_free(struct drm_gem_object *obj)
{
	ttm_bo_fini(&to_vkms_bo(obj)->tbo);
}

static struct dma_buf *vkms_bo_export(struct drm_gem_object *obj, int flags)
{
	return drm_prime_p2p_export(&obj_to_vram(obj)->p2p, &to_vkms_bo(obj)->p2p,
				    obj, flags);
}

/*
 * A kernel mapping, for composition, writeback, fbdev and importers, pins
 * the buffer until it is unmapped: in VRAM when it can be had, evicting
 * buffers not in use (a buffer that was evicted comes back), where it is
 * otherwise. A buffer in contiguous system memory stays there: it went
 * there for an importer that can use nothing else, which would move it out
 * of VRAM again at its next map (vb2 releases and queues buffers again
 * while a stream starts). VRAM is memory, so its mapping is the linear map,
 * not an I/O mapping.
 */
static int vkms_bo_vmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	struct ttm_buffer_object *tbo = &to_vkms_bo(obj)->tbo;
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct vkms_vram *vram = obj_to_vram(obj);
	int ret;

	dma_resv_assert_held(obj->resv);
	if (!tbo->pin_count && tbo->resource->mem_type != TTM_PL_VRAM &&
	    tbo->resource->mem_type != VKMS_PL_CONTIG &&
	    obj->size <= vram->size) {
		/* With every buffer in VRAM pinned, it stays where it is. */
		ret = ttm_bo_validate(tbo, &vkms_vram_placement, &ctx);
		if (ret == -EINTR || ret == -ERESTARTSYS)
			return ret;
	}
	ttm_bo_pin(tbo);

	if (tbo->resource->mem_type == TTM_PL_VRAM) {
		iosys_map_set_vaddr(map, vram->vaddr +
				    ((size_t)tbo->resource->start << PAGE_SHIFT));
		return 0;
	}
	ret = ttm_bo_vmap(tbo, map);
	if (ret)
		ttm_bo_unpin(tbo);
	return ret;
}

static void vkms_bo_vunmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	struct ttm_buffer_object *tbo = &to_vkms_bo(obj)->tbo;

	dma_resv_assert_held(obj->resv);
	/* Pinned since vmap: the buffer is still where it was mapped. */
	if (tbo->resource->mem_type != TTM_PL_VRAM)
		ttm_bo_vunmap(tbo, map);
	iosys_map_clear(map);
	ttm_bo_unpin(tbo);
}

static const struct drm_gem_object_funcs vkms_bo_funcs = {
	.free = vkms_bo_free,
	.export = vkms_bo_export,
	.vmap = vkms_bo_vmap,
	.vunmap = vkms_bo_vunmap,
	.mmap = drm_gem_ttm_mmap,
	.print_info = drm_gem_ttm_print_info,
};

static void vkms_bo_destroy(struct ttm_buffer_object *tbo)
{
	drm_gem_object_release(&tbo->base);
	kfree(container_of(tbo, struct vkms_bo, tbo));
}

/**
 * vkms_bo_is_vkms - is this a buffer object of a VKMS device with VRAM?
 * @obj: a GEM object
 *
 * Returns: true for objects made by vkms_bo_create().
 */
bool vkms_bo_is_vkms(struct drm_gem_object *obj)
{
	return obj->funcs == &vkms_bo_funcs;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_bo_is_vkms);

/**
 * vkms_bo_create - create a buffer object in a VKMS device with VRAM
 * @vkmsdev: the device
 * @size: the size in bytes, a multiple of the page size
 *
 * The buffer goes to VRAM, evicting buffers that are not pinned to make
 * room, and to system memory when VRAM cannot hold it.
 *
 * Returns: the buffer object, holding one GEM reference, or an ERR_PTR.
 */
struct vkms_bo *vkms_bo_create(struct vkms_device *vkmsdev, size_t size)
{
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct vkms_vram *vram = vkmsdev->vram;
	struct vkms_bo *bo;
	int ret;

	if (!vram)
		return ERR_PTR(-ENODEV);
	if (!size || !PAGE_ALIGNED(size))
		return ERR_PTR(-EINVAL);

	bo = kzalloc_obj(*bo);
	if (!bo)
		return ERR_PTR(-ENOMEM);
	drm_gem_private_object_init(&vkmsdev->drm, &bo->tbo.base, size);
	bo->tbo.base.funcs = &vkms_bo_funcs;

	/*
	 * On failure, TTM releases the buffer through vkms_bo_destroy(). A
	 * buffer VRAM can never hold goes straight to system memory: TTM
	 * would evict every other buffer before it found out.
	 */
	ret = ttm_bo_init_reserved(&vram->bdev, &bo->tbo, ttm_bo_type_device,
				   size <= vram->size ?
				   &vkms_prefer_vram_placement : &vkms_tt_placement,
				   0, &ctx, NULL, NULL, vkms_bo_destroy);
	if (ret)
		return ERR_PTR(ret);
	ttm_bo_unreserve(&bo->tbo);
	return bo;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_bo_create);

/**
 * vkms_vram_dumb_create - &drm_driver.dumb_create of a VKMS device with VRAM
 * @file: the DRM file
 * @dev: the device
 * @args: the request
 *
 * Returns: 0, or a negative error code.
 */
int vkms_vram_dumb_create(struct drm_file *file, struct drm_device *dev,
			  struct drm_mode_create_dumb *args)
{
	struct vkms_bo *bo;
	int ret;

	ret = drm_mode_size_dumb(dev, args, 0, 0);
	if (ret)
		return ret;

	bo = vkms_bo_create(drm_device_to_vkms_device(dev), args->size);
	if (IS_ERR(bo))
		return PTR_ERR(bo);

	ret = drm_gem_handle_create(file, &bo->tbo.base, &args->handle);
	drm_gem_object_put(&bo->tbo.base);
	return ret;
}

/*
 * Buffers another VKMS device with VRAM exported are imported dynamically
 * and with peer-to-peer allowed, as a GPU would: the exporter's policy then
 * decides whether this device reaches its VRAM. VKMS only ever vmaps an
 * import, and a vmap pins it, so there is no mapping to drop when told to.
 */
static void vkms_import_invalidate(struct dma_buf_attachment *attach)
{
}

static const struct dma_buf_attach_ops vkms_import_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = vkms_import_invalidate,
};

static void vkms_import_free(struct drm_gem_object *obj)
{
	drm_prime_gem_destroy(obj, NULL);
	drm_gem_object_release(obj);
	kfree(obj);
}

static int vkms_import_vmap(struct drm_gem_object *obj, struct iosys_map *map)
{
	struct dma_buf *dmabuf = obj->import_attach->dmabuf;

	/*
	 * The exporter went away: fail as its vmap would, without asking it
	 * (dma_buf_vmap() warns when an exporter's vmap fails).
	 */
	if (drm_prime_p2p_export_revoked(dmabuf))
		return -ENODEV;
	return dma_buf_vmap(dmabuf, map);
}

static void vkms_import_vunmap(struct drm_gem_object *obj,
			       struct iosys_map *map)
{
	dma_buf_vunmap(obj->import_attach->dmabuf, map);
}

static const struct drm_gem_object_funcs vkms_import_funcs = {
	.free = vkms_import_free,
	.vmap = vkms_import_vmap,
	.vunmap = vkms_import_vunmap,
};

/**
 * vkms_vram_gem_prime_import - &drm_driver.gem_prime_import of a VKMS device
 *	with VRAM
 * @dev: the importing device
 * @dma_buf: the dma-buf
 *
 * A buffer @dev exported is its own object again. One another device
 * exported through the P2P helper is attached dynamically, allowing
 * peer-to-peer; any other buffer is imported as VKMS without VRAM imports
 * it, without mapping it.
 *
 * Returns: the object with a new reference, or an ERR_PTR.
 */
struct drm_gem_object *vkms_vram_gem_prime_import(struct drm_device *dev,
						  struct dma_buf *dma_buf)
{
	struct drm_gem_object *obj = drm_prime_p2p_exported_object(dma_buf);
	struct dma_buf_attachment *attach;

	if (!obj)
		return drm_gem_shmem_prime_import_no_map(dev, dma_buf);
	if (obj->dev == dev) {
		drm_gem_object_get(obj);
		return obj;
	}

	obj = kzalloc_obj(*obj);
	if (!obj)
		return ERR_PTR(-ENOMEM);
	drm_gem_private_object_init(dev, obj, dma_buf->size);
	obj->funcs = &vkms_import_funcs;

	attach = dma_buf_dynamic_attach(dma_buf, dev->dev, &vkms_import_ops,
					obj);
	if (IS_ERR(attach)) {
		drm_gem_private_object_fini(obj);
		kfree(obj);
		return ERR_CAST(attach);
	}
	get_dma_buf(dma_buf);
	obj->import_attach = attach;
	obj->resv = dma_buf->resv;
	return obj;
}

/*
 * The memory behind VRAM: physically contiguous system memory, or the BAR
 * of the PCI device named @pci.
 */
static int vkms_vram_get_backing(struct drm_device *drm, struct vkms_vram *vram,
				 const char *pci)
{
	u64 bar_size;

	if (!pci) {
		if (!vkms_vram_size_fits(vram->size)) {
			drm_err(drm, "%llu MiB of VRAM is more than half the system's memory\n",
				vram->size >> 20);
			return -EINVAL;
		}
		vram->pages = dma_alloc_pages(drm->dev, vram->size, &vram->dma,
					      DMA_BIDIRECTIONAL,
					      GFP_KERNEL | __GFP_NOWARN);
		if (!vram->pages) {
			drm_err(drm, "cannot reserve %llu MiB of contiguous memory for VRAM (CMA%s)\n",
				vram->size >> 20, IS_ENABLED(CONFIG_DMA_CMA) ?
				" too small? see cma=" : " is not configured");
			return -ENOMEM;
		}
		vram->phys = page_to_phys(vram->pages);
		vram->vaddr = page_address(vram->pages);
		return 0;
	}

	vram->pci = vkms_pci_vram_claim(pci, vram, &vram->phys, &bar_size);
	if (IS_ERR(vram->pci)) {
		int ret = PTR_ERR(vram->pci);

		vram->pci = NULL;
		drm_err(drm, "VRAM on PCI device %s: %s\n", pci,
			ret == -EBUSY ? "another VKMS device has it" :
			"no ivshmem-plain device of that name bound to vkms-vram");
		return ret;
	}
	if (vram->size > bar_size) {
		drm_err(drm, "%llu MiB of VRAM do not fit the %llu MiB BAR of %s\n",
			vram->size >> 20, bar_size >> 20, pci);
		vkms_pci_vram_release(vram->pci);
		vram->pci = NULL;
		return -E2BIG;
	}
	vram->vaddr = memremap(vram->phys, vram->size, MEMREMAP_WB);
	if (!vram->vaddr) {
		drm_err(drm, "cannot map the BAR of %s\n", pci);
		vkms_pci_vram_release(vram->pci);
		vram->pci = NULL;
		return -ENOMEM;
	}
	return 0;
}

static void vkms_vram_put_backing(struct drm_device *drm,
				  struct vkms_vram *vram)
{
	if (vram->pci) {
		/*
		 * The CPU mapping goes before the BAR is given back: from then
		 * on remove() may release it.
		 */
		memunmap(vram->vaddr);
		vkms_pci_vram_release(vram->pci);
		vram->pci = NULL;
	} else {
		dma_free_pages(drm->dev, vram->size, vram->pages, vram->dma,
			       DMA_BIDIRECTIONAL);
	}
}

/*
 * Released with the DRM device, once every buffer, export and file is gone:
 * TTM and VRAM outlive every buffer object.
 *
 * A BAR is given back first, while TTM and the exporter still stand: until
 * then the PCI driver's remove() may take VRAM down (vkms_vram_bar_gone())
 * and needs them; after it, remove() no longer sees this device. No buffer
 * is left in VRAM, so nothing touches the BAR after that.
 */
static void vkms_vram_release(struct drm_device *drm, void *data)
{
	struct vkms_vram *vram = data;

	if (vram->pci)
		vkms_vram_put_backing(drm, vram);
	drm_prime_p2p_device_fini(&vram->p2p);
	ttm_range_man_fini(&vram->bdev, VKMS_PL_CONTIG);
	ttm_range_man_fini(&vram->bdev, TTM_PL_TT);
	ttm_range_man_fini(&vram->bdev, TTM_PL_VRAM);
	ttm_device_fini(&vram->bdev);
	if (vram->pages)
		vkms_vram_put_backing(drm, vram);
}

/**
 * vkms_vram_init - give a VKMS device VRAM
 * @vkmsdev: the device, before it is registered
 * @size: the size of VRAM in bytes, as vkms_vram_parse_size() checks it
 * @visible: how much of it peers reach, from its start (a small BAR), or 0
 *	for all of it
 * @policy: which importers reach VRAM directly, for VRAM in system memory
 * @pci: the name of the PCI device whose BAR is VRAM (see
 *	vkms_pci_vram_claim()), or NULL for system memory
 *
 * Reserves @size bytes of physically contiguous memory, or claims the BAR,
 * and sets up TTM and the P2P exporter, all released with the DRM device.
 *
 * Returns: 0, -EINVAL when @size is more than vkms_vram_size_fits() allows
 * or @visible is more than @size or not a multiple of the page size,
 * -ENOMEM when the memory cannot be reserved, -ENODEV, -EBUSY or -E2BIG
 * when the BAR is not there, has a user or is too small, or the error of
 * registering VRAM as a dmem cgroup region.
 */
int vkms_vram_init(struct vkms_device *vkmsdev, u64 size, u64 visible,
		   enum vkms_p2p_policy policy, const char *pci)
{
	struct drm_device *drm = &vkmsdev->drm;
	struct dmem_cgroup_region *cg;
	struct vkms_vram *vram;
	struct dentry *dir;
	int ret;

	if (visible > size || !PAGE_ALIGNED(visible)) {
		drm_err(drm, "%llu bytes of visible VRAM: more than the %llu MiB of VRAM, or not a multiple of the page size\n",
			visible, size >> 20);
		return -EINVAL;
	}
	vram = drmm_kzalloc(drm, sizeof(*vram), GFP_KERNEL);
	if (!vram)
		return -ENOMEM;
	vram->size = size;
	vram->policy = policy;
	ret = vkms_vram_get_backing(drm, vram, pci);
	if (ret)
		return ret;

	ret = ttm_device_init(&vram->bdev, &vkms_ttm_funcs, drm->dev,
			      drm->anon_inode->i_mapping,
			      drm->vma_offset_manager, 0);
	if (ret)
		goto err_free;
	ret = ttm_range_man_init(&vram->bdev, TTM_PL_VRAM, false,
				 size >> PAGE_SHIFT);
	if (ret)
		goto err_ttm;
	/* As much system memory for buffers as a GPU's GTT usually gets. */
	ret = ttm_range_man_init(&vram->bdev, TTM_PL_TT, true,
				 totalram_pages() / 2);
	if (ret)
		goto err_vram;
	/*
	 * Contiguous system memory, as much as CMA and the buddy allocator
	 * give: the manager only accounts for it.
	 */
	ret = ttm_range_man_init(&vram->bdev, VKMS_PL_CONTIG, true,
				 totalram_pages() / 2);
	if (ret)
		goto err_tt;
	ret = drm_prime_p2p_device_init(&vram->p2p, drm, vram->pci ?
					&vkms_pci_p2p_funcs : &vkms_p2p_funcs);
	if (ret)
		goto err_contig;
	/* A small BAR: peers reach only its start, as the CPU would. */
	if (visible && visible < size) {
		ret = drm_prime_p2p_set_peer_window(&vram->p2p, TTM_PL_VRAM,
						    visible);
		if (ret)
			goto err_p2p;
	}

	/* From here on the BAR's removal takes VRAM down. */
	if (vram->pci) {
		ret = vkms_pci_vram_ready(vram->pci);
		if (ret) {
			drm_err(drm, "the PCI device %s went away\n", pci);
			goto err_p2p;
		}
	}

	/*
	 * ttm/vram_mm, ttm/tt_mm and ttm/contig_mm: what each domain holds.
	 * They go with the device's debugfs directory when it is
	 * unregistered, before TTM.
	 */
	dir = debugfs_create_dir("ttm", drm->debugfs_root);
	ttm_resource_manager_create_debugfs(ttm_manager_type(&vram->bdev,
							     TTM_PL_VRAM),
					    dir, "vram_mm");
	ttm_resource_manager_create_debugfs(ttm_manager_type(&vram->bdev,
							     TTM_PL_TT),
					    dir, "tt_mm");
	ttm_resource_manager_create_debugfs(ttm_manager_type(&vram->bdev,
							     VKMS_PL_CONTIG),
					    dir, "contig_mm");

	ret = drmm_add_action_or_reset(drm, vkms_vram_release, vram);
	if (ret)
		return ret;
	/*
	 * VRAM is a dmem cgroup region, "drm/<device>/vram0", as a GPU's is:
	 * TTM charges a buffer's VRAM to the cgroup of the task whose
	 * allocation or validation puts it there (an importer's, when the
	 * helper places a buffer for it) and evicts within a cgroup at its
	 * dmem.max. Registered after the release action, so unregistered
	 * before TTM goes.
	 */
	cg = drmm_cgroup_register_region(drm, "vram0",
					 &(struct dmem_cgroup_init){
						.size = size,
					 });
	if (IS_ERR(cg))
		return PTR_ERR(cg);
	ttm_resource_manager_set_dmem_region(ttm_manager_type(&vram->bdev,
							      TTM_PL_VRAM), cg);
	vkmsdev->vram = vram;
	drm_info(drm, "%llu MiB of VRAM at %pa%s%s, peer-to-peer: %s, peers reach %llu MiB\n",
		 size >> 20, &vram->phys, pci ? " on the BAR of " : "",
		 pci ?: "", pci ? "PCI topology" : vkms_vram_policy_name(policy),
		 (visible && visible < size ? visible : size) >> 20);
	return 0;

err_p2p:
	drm_prime_p2p_device_fini(&vram->p2p);
err_contig:
	ttm_range_man_fini(&vram->bdev, VKMS_PL_CONTIG);
err_tt:
	ttm_range_man_fini(&vram->bdev, TTM_PL_TT);
err_vram:
	ttm_range_man_fini(&vram->bdev, TTM_PL_VRAM);
err_ttm:
	ttm_device_fini(&vram->bdev);
err_free:
	vkms_vram_put_backing(drm, vram);
	return ret;
}
EXPORT_SYMBOL_IF_KUNIT(vkms_vram_init);

/**
 * vkms_vram_bar_gone - the PCI device behind a VKMS device's VRAM goes away
 * @vram: the VRAM
 *
 * Called from the PCI driver's remove(), while the BAR is still there:
 * revokes the device's exports, which makes every importer drop its DMA
 * mappings of the BAR and fails later ones with -ENODEV, then takes VRAM
 * out of use and moves every buffer that is not pinned to system memory.
 * The device lives on without VRAM. A buffer pinned in VRAM (scanned out,
 * or mapped by the kernel) cannot move: it is left where it was, and what
 * reads it after the BAR is gone reads whatever is there.
 *
 * Context: process context, from the PCI driver's remove() with
 * vkms_pci_lock held; takes the P2P exporter's locks and the buffers'
 * reservation locks, and waits for importers to unmap.
 */
void vkms_vram_bar_gone(struct vkms_vram *vram)
{
	struct ttm_resource_manager *man = ttm_manager_type(&vram->bdev,
							    TTM_PL_VRAM);
	struct drm_device *drm = vram->p2p.drm;
	u64 left;
	int ret;

	drm_warn(drm, "the PCI device behind VRAM is going away: revoking exports, moving buffers to system memory\n");
	drm_prime_p2p_revoke(&vram->p2p,
			     msecs_to_jiffies(VKMS_REVOKE_TIMEOUT_MS));
	/* New buffers and kernel mappings no longer ask for VRAM... */
	WRITE_ONCE(vram->size, 0);
	ret = ttm_resource_manager_evict_all(&vram->bdev, man);
	left = ttm_resource_manager_usage(man);
	if (ret || left)
		drm_warn(drm, "%llu KiB stay pinned in VRAM (%d)\n", left >> 10,
			 ret);
	/* ...and TTM places nothing there any more. */
	ttm_resource_manager_set_used(man, false);
}
EXPORT_SYMBOL_IF_KUNIT(vkms_vram_bar_gone);

/**
 * vkms_vram_revoke - revoke the exports of a VKMS device that goes away
 * @vkmsdev: the device, unregistered
 *
 * Importers are told to drop their mappings, later attaches and maps fail
 * with -ENODEV, and this waits until importers have unmapped. Buffers stay
 * until their last reference goes.
 */
void vkms_vram_revoke(struct vkms_device *vkmsdev)
{
	if (vkmsdev->vram)
		drm_prime_p2p_revoke(&vkmsdev->vram->p2p,
				     msecs_to_jiffies(VKMS_REVOKE_TIMEOUT_MS));
}
