// SPDX-License-Identifier: MIT
/*
 * KUnit tests of the P2P dma-buf exporter for TTM objects.
 *
 * A mock TTM device has a VRAM manager backed by physically contiguous
 * memory, and fake importers are devices on the KUnit bus with their own DMA
 * masks, segment limits and reachability. Every mapping is checked byte by
 * byte: the DMA addresses an importer was given must name the bytes written
 * into the buffer. The DMA API maps directly here (no IOMMU), so a DMA
 * address leads back to its memory through dma_to_phys().
 */

#include <linux/delay.h>
#include <linux/dma-buf.h>
#include <linux/dma-direct.h>
#include <linux/dma-fence.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/file.h>
#include <linux/iommu.h>
#include <linux/iosys-map.h>
#include <linux/kthread.h>
#include <linux/memremap.h>
#include <linux/pci-p2pdma.h>
#include <linux/pci.h>
#include <linux/scatterlist.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>
#include <linux/workqueue.h>

#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>

#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/drm_prime.h>
#include <drm/drm_prime_p2p.h>
#include <drm/ttm/ttm_bo.h>
#include <drm/ttm/ttm_device.h>
#include <drm/ttm/ttm_placement.h>
#include <drm/ttm/ttm_range_manager.h>
#include <drm/ttm/ttm_resource.h>
#include <drm/ttm/ttm_tt.h>

MODULE_IMPORT_NS("DMA_BUF");
MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

#define VRAM_ORDER	9	/* 2 MiB of VRAM */
#define VRAM_SIZE	(PAGE_SIZE << VRAM_ORDER)
#define TT_SIZE		SZ_64M

struct mock_dev {
	struct drm_device drm;
	struct ttm_device bdev;
	struct drm_prime_p2p_device p2p;
	struct page *vram;	/* NULL: VRAM at a physical range with no RAM */
	size_t vram_size;
	phys_addr_t vram_phys;
	void *vram_vaddr;	/* what the CPU reads and writes for VRAM */
	unsigned int nr_ranges;	/* split_resource_ranges(): how many */
	unsigned int stride;	/* and 1: adjacent, 2: a gap after each */
	unsigned int ranges_calls;	/* of split_resource_ranges() */
	unsigned long vram_lpfn;	/* of the VRAM place of new buffers */
	/* the driver hooks of test_driver_hooks() and test_driver_dmabuf_ops() */
	int pm_refs;
	unsigned int validates;
	u32 validate_types;
	unsigned long validate_lpfn;	/* of the VRAM place validated */
	unsigned int driver_maps;	/* calls of private_map_ranges() */
	bool validate_anywhere;	/* hooked_validate() drops page ranges */
	unsigned int hook_pins;
	unsigned int hook_unpins;
	int pin_fail;
	bool pin_moves;		/* the driver's pin moves the buffer to TT */
	bool p2p_veto;		/* the driver's attach vetoes peer-to-peer */
	unsigned int tt_extra_pages;	/* a ttm_tt's pages beyond the object */
	u64 copied;		/* bytes moved by copies between placements */
	/* fault injection: fail the failure point this counts down to */
	unsigned int countdown;
	unsigned int failed;
};

enum mock_domains { VRAM_ONLY, TT_ONLY, VRAM_OR_TT };

struct mock_bo {
	struct ttm_buffer_object tbo;
	struct drm_prime_p2p_object p2p;
	struct ttm_placement placement;
	struct ttm_place places[2];
};

struct fake_importer {
	struct device *dev;
	struct device_dma_parameters parms;
	u64 mask;
	bool reach;
	bool xgmi;	/* reaches VRAM over a private link (private_reach) */
	unsigned int invalidations;
	struct dma_buf_attachment *attach;
	struct sg_table *sgt;
};

static struct mock_dev *to_mock(struct ttm_device *bdev)
{
	return container_of(bdev, struct mock_dev, bdev);
}

static struct mock_bo *to_mock_bo(struct ttm_buffer_object *tbo)
{
	return container_of(tbo, struct mock_bo, tbo);
}

static struct ttm_buffer_object *obj_to_tbo(struct drm_gem_object *obj)
{
	return container_of(obj, struct ttm_buffer_object, base);
}

static struct ttm_tt *mock_tt_create(struct ttm_buffer_object *bo,
				     u32 page_flags)
{
	struct ttm_tt *tt = kzalloc_obj(*tt);

	if (!tt)
		return NULL;
	if (ttm_tt_init(tt, bo, page_flags, ttm_cached,
			to_mock(bo->bdev)->tt_extra_pages)) {
		kfree(tt);
		return NULL;
	}
	return tt;
}

static void mock_tt_destroy(struct ttm_device *bdev, struct ttm_tt *tt)
{
	ttm_tt_fini(tt);
	kfree(tt);
}

static const struct ttm_place tt_place = { .mem_type = TTM_PL_TT };
static const struct ttm_place vram_only = { .mem_type = TTM_PL_VRAM };

static void mock_evict_flags(struct ttm_buffer_object *bo,
			     struct ttm_placement *placement)
{
	placement->num_placement = 1;
	placement->placement = &tt_place;
}

static int mock_move(struct ttm_buffer_object *bo, bool evict,
		     struct ttm_operation_ctx *ctx,
		     struct ttm_resource *new_mem, struct ttm_place *hop)
{
	struct ttm_resource *old = bo->resource;

	drm_prime_p2p_move_notify(&to_mock_bo(bo)->p2p, bo, new_mem);
	if (!old || (old->mem_type != TTM_PL_VRAM &&
		     new_mem->mem_type != TTM_PL_VRAM)) {
		ttm_bo_move_null(bo, new_mem);
		return 0;
	}
	to_mock(bo->bdev)->copied += bo->base.size;
	return ttm_bo_move_memcpy(bo, ctx, new_mem);
}

static void mock_swap_notify(struct ttm_buffer_object *bo)
{
	drm_prime_p2p_move_notify(&to_mock_bo(bo)->p2p, bo, NULL);
}

static int mock_io_mem_reserve(struct ttm_device *bdev,
			       struct ttm_resource *mem)
{
	struct mock_dev *md = to_mock(bdev);
	size_t off = (size_t)mem->start << PAGE_SHIFT;

	if (mem->mem_type != TTM_PL_VRAM)
		return 0;
	mem->bus.offset = md->vram_phys + off;
	mem->bus.addr = md->vram_vaddr + off;
	mem->bus.is_iomem = true;
	mem->bus.caching = ttm_cached;
	return 0;
}

static const struct ttm_device_funcs mock_ttm_funcs = {
	.ttm_tt_create = mock_tt_create,
	.ttm_tt_destroy = mock_tt_destroy,
	.eviction_valuable = ttm_bo_eviction_valuable,
	.evict_flags = mock_evict_flags,
	.move = mock_move,
	.swap_notify = mock_swap_notify,
	.io_mem_reserve = mock_io_mem_reserve,
};

static const struct ttm_placement *mock_placement(struct drm_gem_object *obj)
{
	return &container_of(obj, struct mock_bo, tbo.base)->placement;
}

static bool mock_reachable(struct drm_gem_object *obj, u32 mem_type,
			   struct dma_buf_attachment *attach)
{
	struct fake_importer *imp = attach->importer_priv;

	return imp && imp->reach;
}

/* Mock VRAM is memory freed with the device: pinned importers may have it. */
static const struct drm_prime_p2p_funcs mock_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.pinned_p2p = true,
};

static void mock_gem_free(struct drm_gem_object *obj)
{
	ttm_bo_fini(container_of(obj, struct ttm_buffer_object, base));
}

static struct dma_buf *mock_gem_export(struct drm_gem_object *obj, int flags)
{
	struct mock_dev *md = container_of(obj->dev, struct mock_dev, drm);

	return drm_prime_p2p_export(&md->p2p, &to_mock_bo(obj_to_tbo(obj))->p2p,
				    obj, flags);
}

static const struct drm_gem_object_funcs mock_gem_funcs = {
	.free = mock_gem_free,
	.export = mock_gem_export,
};

static void mock_bo_destroy(struct ttm_buffer_object *tbo)
{
	drm_gem_object_release(&tbo->base);
	kfree(container_of(tbo, struct mock_bo, tbo));
}

/* drm_gem_prime_export() names the module that owns a driver's files. */
static const struct file_operations mock_fops = {
	.owner = THIS_MODULE,
};

static const struct drm_driver mock_driver = {
	.driver_features = DRIVER_GEM,
	.fops = &mock_fops,
	DRM_PRIME_P2P_DRIVER_OPS,
};

/*
 * The mock device, with @funcs, @vram_size bytes of VRAM and @tt_size of TT.
 * VRAM is physically contiguous memory, or with @fake_phys a physical range
 * where there is no RAM (the DMA API maps it as MMIO, as a PCI BAR) whose
 * CPU side, used only by copies, is vmalloc() memory.
 */
static void mock_setup(struct kunit *test,
		       const struct drm_prime_p2p_funcs *funcs,
		       size_t vram_size, size_t tt_size, phys_addr_t fake_phys)
{
	struct device *parent;
	struct mock_dev *md;
	int ret;

	parent = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, parent);
	md = drm_kunit_helper_alloc_drm_device_with_driver(test, parent,
							   struct mock_dev, drm,
							   &mock_driver);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, md);

	md->vram_size = vram_size;
	if (fake_phys) {
		md->vram_phys = fake_phys;
		md->vram_vaddr = vmalloc(vram_size);
		KUNIT_ASSERT_NOT_NULL(test, md->vram_vaddr);
	} else {
		md->vram = alloc_pages(GFP_KERNEL | __GFP_ZERO,
				       get_order(vram_size));
		KUNIT_ASSERT_NOT_NULL(test, md->vram);
		md->vram_phys = page_to_phys(md->vram);
		md->vram_vaddr = page_address(md->vram);
	}
	/* From here on mock_exit() cleans up. */
	test->priv = md;

	ret = ttm_device_init(&md->bdev, &mock_ttm_funcs, md->drm.dev,
			      md->drm.anon_inode->i_mapping,
			      md->drm.vma_offset_manager, 0);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ret = ttm_range_man_init(&md->bdev, TTM_PL_VRAM, false,
				 vram_size >> PAGE_SHIFT);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ret = ttm_range_man_init(&md->bdev, TTM_PL_TT, true,
				 tt_size >> PAGE_SHIFT);
	KUNIT_ASSERT_EQ(test, ret, 0);
	ret = drm_prime_p2p_device_init(&md->p2p, &md->drm, funcs);
	KUNIT_ASSERT_EQ(test, ret, 0);
}

static int mock_init(struct kunit *test)
{
	mock_setup(test, &mock_p2p_funcs, VRAM_SIZE, TT_SIZE, 0);
	return 0;
}

static void mock_exit(struct kunit *test)
{
	struct mock_dev *md = test->priv;

	if (!md)
		return;
	/* dma-buf files put from a kthread are released from a work item. */
	flush_delayed_fput();
	if (md->p2p.drm)
		drm_prime_p2p_device_fini(&md->p2p);
	if (ttm_manager_type(&md->bdev, TTM_PL_TT))
		ttm_range_man_fini(&md->bdev, TTM_PL_TT);
	if (ttm_manager_type(&md->bdev, TTM_PL_VRAM))
		ttm_range_man_fini(&md->bdev, TTM_PL_VRAM);
	if (md->bdev.funcs)
		ttm_device_fini(&md->bdev);
	if (md->vram)
		__free_pages(md->vram, get_order(md->vram_size));
	else
		vfree(md->vram_vaddr);
}

static struct mock_bo *mock_bo_create(struct kunit *test, size_t size,
				      enum mock_domains domains)
{
	struct mock_dev *md = test->priv;
	struct mock_bo *bo;
	int ret;

	bo = kzalloc_obj(*bo);
	KUNIT_ASSERT_NOT_NULL(test, bo);
	drm_gem_private_object_init(&md->drm, &bo->tbo.base, size);
	bo->tbo.base.funcs = &mock_gem_funcs;

	bo->places[0].lpfn = md->vram_lpfn;
	switch (domains) {
	case VRAM_ONLY:
		bo->places[0].mem_type = TTM_PL_VRAM;
		bo->placement.num_placement = 1;
		break;
	case TT_ONLY:
		bo->places[0].mem_type = TTM_PL_TT;
		bo->placement.num_placement = 1;
		break;
	case VRAM_OR_TT:
		bo->places[0].mem_type = TTM_PL_VRAM;
		bo->places[1].mem_type = TTM_PL_TT;
		bo->placement.num_placement = 2;
		break;
	}
	bo->placement.placement = bo->places;

	ret = ttm_bo_init_validate(&md->bdev, &bo->tbo, ttm_bo_type_device,
				   &bo->placement, 0, false, NULL, NULL,
				   mock_bo_destroy);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return bo;
}

static u8 pattern(size_t off, u8 seed)
{
	return (u8)(seed + off + (off >> PAGE_SHIFT) * 13);
}

/* Fill the buffer through the exporter's vmap. */
static void fill(struct kunit *test, struct dma_buf *dmabuf, u8 seed)
{
	struct iosys_map map;
	size_t i, size = dmabuf->size;
	u8 *buf;
	int ret;

	buf = vmalloc(size);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	for (i = 0; i < size; i++)
		buf[i] = pattern(i, seed);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_vmap(dmabuf, &map);
	if (!ret) {
		iosys_map_memcpy_to(&map, 0, buf, size);
		dma_buf_vunmap(dmabuf, &map);
	}
	dma_resv_unlock(dmabuf->resv);
	vfree(buf);
	/* Not asserted with the lock held: a failed test must not keep it. */
	KUNIT_ASSERT_EQ(test, ret, 0);
}

/* The DMA addresses of @sgt, in order, name the bytes of the buffer. */
static void expect_contents(struct kunit *test, struct fake_importer *imp,
			    struct sg_table *sgt, size_t size, u8 seed)
{
	struct scatterlist *sg;
	size_t off = 0, bad = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		phys_addr_t phys = dma_to_phys(imp->dev, sg_dma_address(sg));
		const u8 *va = phys_to_virt(phys);
		size_t j, len = sg_dma_len(sg);

		KUNIT_EXPECT_LE(test, len, dma_get_max_seg_size(imp->dev));
		KUNIT_EXPECT_LE(test, sg_dma_address(sg) + len - 1, imp->mask);
		for (j = 0; j < len && off + j < size; j++)
			if (va[j] != pattern(off + j, seed))
				bad++;
		off += len;
	}
	KUNIT_EXPECT_EQ(test, off, size);
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "bytes differing from what was written");
}

static void fake_invalidate(struct dma_buf_attachment *attach)
{
	struct fake_importer *imp = attach->importer_priv;

	imp->invalidations++;
	if (imp->sgt) {
		dma_buf_unmap_attachment(attach, imp->sgt, DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
	}
}

static const struct dma_buf_attach_ops dynamic_p2p_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = fake_invalidate,
};

static const struct dma_buf_attach_ops dynamic_ops = {
	.invalidate_mappings = fake_invalidate,
};

/* An importer that pins, as RDMA's pinned umem does. */
static const struct dma_buf_attach_ops pinned_p2p_ops = {
	.allow_peer2peer = true,
};

static struct fake_importer *fake_importer(struct kunit *test, const char *name,
					   u64 mask, unsigned int max_seg,
					   bool reach)
{
	struct fake_importer *imp = kunit_kzalloc(test, sizeof(*imp), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, imp);
	imp->dev = kunit_device_register(test, name);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp->dev);
	imp->mask = mask;
	imp->dev->dma_mask = &imp->mask;
	imp->dev->coherent_dma_mask = mask;
	imp->dev->dma_parms = &imp->parms;
	dma_set_max_seg_size(imp->dev, max_seg);
	imp->reach = reach;
	return imp;
}

static int imp_attach(struct fake_importer *imp, struct dma_buf *dmabuf,
		      const struct dma_buf_attach_ops *ops)
{
	struct dma_buf_attachment *attach;

	attach = ops ? dma_buf_dynamic_attach(dmabuf, imp->dev, ops, imp) :
		       dma_buf_attach(dmabuf, imp->dev);
	if (IS_ERR(attach))
		return PTR_ERR(attach);
	imp->attach = attach;
	return 0;
}

static struct sg_table *imp_map(struct fake_importer *imp)
{
	struct dma_buf *dmabuf = imp->attach->dmabuf;
	struct sg_table *sgt;

	dma_resv_lock(dmabuf->resv, NULL);
	sgt = dma_buf_map_attachment(imp->attach, DMA_BIDIRECTIONAL);
	if (!IS_ERR(sgt))
		imp->sgt = sgt;
	dma_resv_unlock(dmabuf->resv);
	return sgt;
}

static void imp_unmap(struct fake_importer *imp)
{
	struct dma_buf *dmabuf = imp->attach->dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);
	if (imp->sgt)
		dma_buf_unmap_attachment(imp->attach, imp->sgt,
					 DMA_BIDIRECTIONAL);
	imp->sgt = NULL;
	dma_resv_unlock(dmabuf->resv);
}

static void imp_detach(struct fake_importer *imp)
{
	if (!imp->attach)
		return;
	imp_unmap(imp);
	dma_buf_detach(imp->attach->dmabuf, imp->attach);
	imp->attach = NULL;
}

static int imp_pin(struct fake_importer *imp)
{
	struct dma_resv *resv = imp->attach->dmabuf->resv;
	int ret;

	dma_resv_lock(resv, NULL);
	ret = dma_buf_pin(imp->attach);
	dma_resv_unlock(resv);
	return ret;
}

static void imp_unpin(struct fake_importer *imp)
{
	struct dma_resv *resv = imp->attach->dmabuf->resv;

	dma_resv_lock(resv, NULL);
	dma_buf_unpin(imp->attach);
	dma_resv_unlock(resv);
}

static enum drm_prime_p2p_map_kind imp_kind(struct fake_importer *imp)
{
	enum drm_prime_p2p_map_kind kind;

	dma_resv_lock(imp->attach->dmabuf->resv, NULL);
	kind = drm_prime_p2p_attachment_kind(imp->attach);
	dma_resv_unlock(imp->attach->dmabuf->resv);
	return kind;
}

static u32 bo_mem_type(struct mock_bo *bo)
{
	u32 type;

	dma_resv_lock(bo->tbo.base.resv, NULL);
	type = bo->tbo.resource->mem_type;
	dma_resv_unlock(bo->tbo.base.resv);
	return type;
}

static struct dma_buf *export(struct kunit *test, struct mock_bo *bo)
{
	struct dma_buf *dmabuf = bo->tbo.base.funcs->export(&bo->tbo.base,
							     O_RDWR);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	/* As drm_gem_prime_handle_to_dmabuf() does, for move_notify. */
	bo->tbo.base.dma_buf = dmabuf;
	return dmabuf;
}

static void unexport(struct mock_bo *bo, struct dma_buf *dmabuf)
{
	bo->tbo.base.dma_buf = NULL;
	dma_buf_put(dmabuf);
	drm_gem_object_put(&bo->tbo.base);
}

/*
 * The decision matrix: placement x importer kind x pinned x reachable.
 */
struct matrix_case {
	const char *name;
	enum mock_domains domains;
	enum { DYNAMIC_P2P, DYNAMIC, STATIC, PINNED_P2P } importer;
	bool reach;
	bool pinned;		/* pinned in VRAM by another importer first */
	/* expected */
	int attach_err;
	u32 mem_type;
	enum drm_prime_p2p_map_kind kind;
};

static const struct matrix_case matrix_cases[] = {
	{ "vram-dynamic-p2p-reach", VRAM_ONLY, DYNAMIC_P2P, true, false,
	  0, TTM_PL_VRAM, DRM_PRIME_P2P_MAP_RESOURCE },
	{ "vram-dynamic-p2p-unreach", VRAM_ONLY, DYNAMIC_P2P, false, false,
	  -EOPNOTSUPP },
	{ "vram-dynamic-reach", VRAM_ONLY, DYNAMIC, true, false, -EOPNOTSUPP },
	{ "vram-static", VRAM_ONLY, STATIC, true, false, -EOPNOTSUPP },
	{ "vram-pinned-p2p-reach", VRAM_ONLY, PINNED_P2P, true, false,
	  0, TTM_PL_VRAM, DRM_PRIME_P2P_MAP_RESOURCE },
	{ "vram-pinned-p2p-unreach", VRAM_ONLY, PINNED_P2P, false, false,
	  -EOPNOTSUPP },
	{ "vram-dynamic-p2p-reach-pinned", VRAM_ONLY, DYNAMIC_P2P, true, true,
	  0, TTM_PL_VRAM, DRM_PRIME_P2P_MAP_RESOURCE },
	{ "vram-dynamic-p2p-unreach-pinned", VRAM_ONLY, DYNAMIC_P2P, false,
	  true, -EOPNOTSUPP },
	{ "tt-dynamic-p2p-reach", TT_ONLY, DYNAMIC_P2P, true, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "tt-dynamic-p2p-unreach", TT_ONLY, DYNAMIC_P2P, false, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "tt-dynamic", TT_ONLY, DYNAMIC, false, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "tt-static", TT_ONLY, STATIC, false, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "tt-pinned-p2p", TT_ONLY, PINNED_P2P, true, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "both-dynamic-p2p-reach", VRAM_OR_TT, DYNAMIC_P2P, true, false,
	  0, TTM_PL_VRAM, DRM_PRIME_P2P_MAP_RESOURCE },
	{ "both-dynamic-p2p-unreach", VRAM_OR_TT, DYNAMIC_P2P, false, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "both-dynamic", VRAM_OR_TT, DYNAMIC, true, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "both-static", VRAM_OR_TT, STATIC, true, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "both-pinned-p2p-reach", VRAM_OR_TT, PINNED_P2P, true, false,
	  0, TTM_PL_VRAM, DRM_PRIME_P2P_MAP_RESOURCE },
	{ "both-pinned-p2p-unreach", VRAM_OR_TT, PINNED_P2P, false, false,
	  0, TTM_PL_TT, DRM_PRIME_P2P_MAP_PAGES },
	{ "both-dynamic-p2p-reach-pinned", VRAM_OR_TT, DYNAMIC_P2P, true, true,
	  0, TTM_PL_VRAM, DRM_PRIME_P2P_MAP_RESOURCE },
	{ "both-dynamic-p2p-unreach-pinned", VRAM_OR_TT, DYNAMIC_P2P, false,
	  true, -EBUSY },
	{ "both-dynamic-pinned", VRAM_OR_TT, DYNAMIC, true, true, -EBUSY },
	{ "both-static-pinned", VRAM_OR_TT, STATIC, true, true, -EBUSY },
};

static void matrix_desc(const struct matrix_case *c, char *desc)
{
	strscpy(desc, c->name, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(matrix, matrix_cases, matrix_desc);

static void test_matrix(struct kunit *test)
{
	const struct matrix_case *c = test->param_value;
	struct fake_importer *pin = NULL, *imp;
	const struct dma_buf_attach_ops *ops = NULL;
	size_t size = SZ_256K;
	struct sg_table *sgt;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	int ret;

	bo = mock_bo_create(test, size, c->domains);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x5a);

	if (c->pinned) {
		/* Another importer pins the buffer in VRAM first. */
		pin = fake_importer(test, "pinner", DMA_BIT_MASK(64), SZ_64K,
				    true);
		KUNIT_ASSERT_EQ(test, imp_attach(pin, dmabuf, &pinned_p2p_ops), 0);
		KUNIT_ASSERT_EQ(test, imp_pin(pin), 0);
		KUNIT_ASSERT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	}

	switch (c->importer) {
	case DYNAMIC_P2P:
		ops = &dynamic_p2p_ops;
		break;
	case DYNAMIC:
		ops = &dynamic_ops;
		break;
	case PINNED_P2P:
		ops = &pinned_p2p_ops;
		break;
	case STATIC:
		ops = NULL;
		break;
	}
	imp = fake_importer(test, "importer", DMA_BIT_MASK(64), SZ_64K, c->reach);
	ret = imp_attach(imp, dmabuf, ops);
	KUNIT_EXPECT_EQ(test, ret, c->attach_err);
	if (ret)
		goto out;
	KUNIT_EXPECT_EQ(test, imp->attach->peer2peer,
			c->kind == DRM_PRIME_P2P_MAP_RESOURCE);

	if (c->importer == PINNED_P2P)
		KUNIT_ASSERT_EQ(test, imp_pin(imp), 0);

	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), c->mem_type);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), c->kind);
	/* One entry per contiguous range, split at the 64 KiB segment limit. */
	if (c->kind == DRM_PRIME_P2P_MAP_RESOURCE)
		KUNIT_EXPECT_EQ(test, sgt->nents, size / SZ_64K);
	else
		KUNIT_EXPECT_GE(test, sgt->nents, size / SZ_64K);
	expect_contents(test, imp, sgt, size, 0x5a);
	if (c->importer == STATIC || c->importer == PINNED_P2P)
		KUNIT_EXPECT_GT(test, bo->tbo.pin_count, 0);
	imp_unmap(imp);
	/*
	 * Only a migration invalidates, and dma_buf_invalidate_mappings()
	 * tells the importer whose map caused it too.
	 */
	KUNIT_EXPECT_EQ(test, imp->invalidations,
			c->domains == VRAM_OR_TT && c->mem_type == TTM_PL_TT &&
			(c->importer == DYNAMIC_P2P || c->importer == DYNAMIC) ?
			1 : 0);

	if (c->importer == PINNED_P2P)
		imp_unpin(imp);
	imp_detach(imp);
out:
	if (pin) {
		imp_unpin(pin);
		imp_detach(pin);
	}
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&((struct mock_dev *)test->priv)->p2p), 0);
	unexport(bo, dmabuf);
}

/* A non-P2P importer's map migrates the buffer and invalidates the others. */
static void test_migrate_invalidates(struct kunit *test)
{
	struct fake_importer *p2p, *sys;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_1M, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x11);

	p2p = fake_importer(test, "p2p", DMA_BIT_MASK(64), SZ_1M, true);
	sys = fake_importer(test, "sys", DMA_BIT_MASK(64), SZ_1M, false);
	KUNIT_ASSERT_EQ(test, imp_attach(p2p, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_attach(sys, dmabuf, &dynamic_ops), 0);

	sgt = imp_map(p2p);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, sgt->nents, 1);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	expect_contents(test, p2p, sgt, SZ_1M, 0x11);

	sgt = imp_map(sys);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, imp_kind(sys), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, sys, sgt, SZ_1M, 0x11);
	/* The P2P importer was told, and dropped its VRAM mapping. */
	KUNIT_EXPECT_EQ(test, p2p->invalidations, 1);
	KUNIT_EXPECT_NULL(test, p2p->sgt);

	/* Remapped, it follows the buffer to system memory. */
	sgt = imp_map(p2p);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(p2p), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, p2p, sgt, SZ_1M, 0x11);
	/*
	 * dma_buf_invalidate_mappings() tells every importer, the one whose
	 * map moved the buffer too, before it had a mapping; it never moved
	 * again after that.
	 */
	KUNIT_EXPECT_EQ(test, sys->invalidations, 1);
	KUNIT_EXPECT_EQ(test, p2p->invalidations, 1);

	imp_detach(p2p);
	imp_detach(sys);
	unexport(bo, dmabuf);
}

/*
 * An object is exported while a dma-buf of it lives, also once the GEM core
 * forgot it (the last handle closed), and no longer once it is released.
 */
static void test_object_exported(struct kunit *test)
{
	struct mock_bo *bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	struct dma_resv *resv = bo->tbo.base.resv;
	struct dma_buf *dmabuf;

	dma_resv_lock(resv, NULL);
	KUNIT_EXPECT_FALSE(test, drm_prime_p2p_object_exported(&bo->p2p));
	dma_resv_unlock(resv);

	dmabuf = export(test, bo);
	/* What closing the last handle does to the object. */
	bo->tbo.base.dma_buf = NULL;
	dma_resv_lock(resv, NULL);
	KUNIT_EXPECT_TRUE(test, drm_prime_p2p_object_exported(&bo->p2p));
	dma_resv_unlock(resv);

	/* The export holds a reference on the object until released. */
	dma_buf_put(dmabuf);
	flush_delayed_fput();
	dma_resv_lock(resv, NULL);
	KUNIT_EXPECT_FALSE(test, drm_prime_p2p_object_exported(&bo->p2p));
	dma_resv_unlock(resv);
	drm_gem_object_put(&bo->tbo.base);
}

/*
 * A driver's ttm_tt may hold pages beyond the object's (xe's CCS metadata
 * on integrated parts): importers get the object's pages, not those.
 */
static void test_tt_extra_pages(struct kunit *test)
{
	/* The object ends within an importer's 64 KiB segment. */
	const size_t size = SZ_512K + 2 * PAGE_SIZE;
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct scatterlist *sg;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	size_t total = 0;
	unsigned int i;

	md->tt_extra_pages = 16;
	bo = mock_bo_create(test, size, TT_ONLY);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x3c);
	KUNIT_ASSERT_EQ(test, bo->tbo.ttm->num_pages,
			(size >> PAGE_SHIFT) + 16);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, false);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		KUNIT_EXPECT_GT(test, sg_dma_len(sg), 0);
		total += sg_dma_len(sg);
	}
	KUNIT_EXPECT_EQ(test, total, size);
	expect_contents(test, imp, sgt, size, 0x3c);

	imp_detach(imp);
	unexport(bo, dmabuf);
}

/* Eviction invalidates; a move between system placements does not. */
static void test_evict(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_place sys_place = { .mem_type = TTM_PL_SYSTEM };
	struct ttm_placement sys = { .num_placement = 1,
				     .placement = &sys_place };
	struct ttm_placement tt = { .num_placement = 1,
				    .placement = &tt_place };
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x77);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));

	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &tt, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, imp->invalidations, 1);

	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, imp, sgt, SZ_512K, 0x77);

	/* TT to system keeps the pages: nothing to tell. */
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &sys, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, imp->invalidations, 1);
	expect_contents(test, imp, sgt, SZ_512K, 0x77);

	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * Memory pressure: another buffer that must have VRAM evicts the exported
 * one, whose dynamic importer is told and finds the content intact in
 * system memory; while a static importer pins it, the other buffer cannot
 * have VRAM.
 */
static void test_evict_pressure(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct ttm_place vram_place = { .mem_type = TTM_PL_VRAM };
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_place };
	struct ttm_operation_ctx ctx = { };
	struct fake_importer *dyn, *stat;
	struct mock_bo *bo, *hog;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;

	bo = mock_bo_create(test, SZ_1M, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x99);
	dyn = fake_importer(test, "dyn", DMA_BIT_MASK(64), SZ_1M, true);
	stat = fake_importer(test, "stat", DMA_BIT_MASK(64), SZ_1M, true);
	KUNIT_ASSERT_EQ(test, imp_attach(dyn, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(dyn);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(dyn), DRM_PRIME_P2P_MAP_RESOURCE);

	/* 1.5 MiB that must be VRAM, in 2 MiB of it. */
	hog = mock_bo_create(test, SZ_1M + SZ_512K, TT_ONLY);
	dma_resv_lock(hog->tbo.base.resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&hog->tbo, &vram, &ctx), 0);
	dma_resv_unlock(hog->tbo.base.resv);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, dyn->invalidations, 1);
	KUNIT_EXPECT_NULL(test, dyn->sgt);
	sgt = imp_map(dyn);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(dyn), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, dyn, sgt, SZ_1M, 0x99);
	drm_gem_object_put(&hog->tbo.base);

	/* Back in VRAM, pinned there by a static importer. */
	imp_unmap(dyn);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &vram, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_ASSERT_EQ(test, imp_attach(stat, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_pin(stat), 0);

	hog = mock_bo_create(test, SZ_1M + SZ_512K, TT_ONLY);
	dma_resv_lock(hog->tbo.base.resv, NULL);
	KUNIT_EXPECT_LT(test, ttm_bo_validate(&hog->tbo, &vram, &ctx), 0);
	dma_resv_unlock(hog->tbo.base.resv);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, dyn->invalidations, 2);
	drm_gem_object_put(&hog->tbo.base);
	sgt = imp_map(stat);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	expect_contents(test, stat, sgt, SZ_1M, 0x99);

	imp_unmap(stat);
	imp_unpin(stat);
	imp_detach(stat);
	imp_detach(dyn);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	unexport(bo, dmabuf);
}

/* A pinned buffer does not move; a pin blocks eviction. */
static void test_pin_blocks_evict(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement tt = { .num_placement = 1,
				    .placement = &tt_place };
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &pinned_p2p_ops), 0);

	KUNIT_ASSERT_EQ(test, imp_pin(imp), 0);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &tt, &ctx), -EINVAL);
	KUNIT_EXPECT_EQ(test, bo->tbo.resource->mem_type, TTM_PL_VRAM);
	dma_buf_unpin(imp->attach);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &tt, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);

	imp_detach(imp);
	unexport(bo, dmabuf);
}

/* vmap pins while mapped. */
static void test_vmap_pins(struct kunit *test)
{
	struct iosys_map map;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	int ret;

	bo = mock_bo_create(test, SZ_64K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_vmap(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, ret, 0);
	if (!ret) {
		KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);
		dma_buf_vunmap(dmabuf, &map);
	}
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	dma_resv_unlock(dmabuf->resv);
	unexport(bo, dmabuf);
}

/* Revoke: importers are told and unmap; later attach and map fail. */
static void test_revoke(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp, *late;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	late = fake_importer(test, "late", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 1);

	drm_prime_p2p_revoke(&md->p2p, HZ);
	KUNIT_EXPECT_EQ(test, imp->invalidations, 1);
	KUNIT_EXPECT_NULL(test, imp->sgt);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);

	KUNIT_EXPECT_PTR_EQ(test, imp_map(imp), ERR_PTR(-ENODEV));
	KUNIT_EXPECT_EQ(test, imp_attach(late, dmabuf, &dynamic_p2p_ops), -ENODEV);
	KUNIT_EXPECT_PTR_EQ(test, bo->tbo.base.funcs->export(&bo->tbo.base, O_RDWR),
			    ERR_PTR(-ENODEV));

	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * Revoke with a static importer's mapping outstanding. A static importer
 * never gets device memory (it cannot be told to let go of it): its mapping
 * is of the buffer's pages in system memory, which do not go away with the
 * device, so revoke does not wait for it. The mapping, and the pin the core
 * took for it, stay valid, naming the same bytes, until the importer
 * unmaps; then nothing of them is left and it cannot map again.
 */
static void test_revoke_static(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned long t0;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x5e);
	imp = fake_importer(test, "static", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, NULL), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	/* A mapping, none of device memory. */
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 0);

	t0 = jiffies;
	drm_prime_p2p_revoke(&md->p2p, 4 * HZ);
	/* Not its timeout: what it waited for, if anything, was not there. */
	KUNIT_EXPECT_LT(test, jiffies - t0, 2 * HZ);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 1);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	expect_contents(test, imp, imp->sgt, SZ_256K, 0x5e);

	imp_unmap(imp);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	KUNIT_EXPECT_PTR_EQ(test, imp_map(imp), ERR_PTR(-ENODEV));
	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * A pinned P2P importer (no invalidate_mappings, as RDMA's pinned umem)
 * holding a mapping of device memory that the driver says outlives every
 * export (pinned_p2p, as the mock's VRAM in RAM does): revoke cannot take
 * it back and need not, so it does not wait for it; the mapping stays
 * valid until the importer lets go.
 */
static void test_revoke_pinned_p2p(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	unsigned long t0;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x2b);
	imp = fake_importer(test, "pinned", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_pin(imp), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_RESOURCE);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 1);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 0);

	t0 = jiffies;
	drm_prime_p2p_revoke(&md->p2p, 4 * HZ);
	/* Not its timeout: what it waited for, if anything, was not there. */
	KUNIT_EXPECT_LT(test, jiffies - t0, 2 * HZ);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	expect_contents(test, imp, sgt, SZ_256K, 0x2b);

	imp_unmap(imp);
	imp_unpin(imp);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * The GEM core forgets its export when the last handle goes
 * (drm_gem_object_exported_dma_buf_free() clears &drm_gem_object.dma_buf),
 * while the dma-buf lives on in its fd and its importers. The importer must
 * still be told when the buffer moves: by eviction, and by swap-out.
 */
static void test_move_after_handle_close(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement tt = { .num_placement = 1,
				    .placement = &tt_place };
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x3c);
	/* The last handle is closed; the fd keeps the dma-buf. */
	bo->tbo.base.dma_buf = NULL;

	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_512K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_RESOURCE);

	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &tt, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, imp->invalidations, 1);
	KUNIT_EXPECT_NULL(test, imp->sgt);
	/* Had it not been told, its stale mapping would leak: drop it. */
	imp_unmap(imp);

	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, imp, sgt, SZ_512K, 0x3c);

	/* Swap-out: TTM's swap_notify, with the pages about to go. */
	dma_resv_lock(dmabuf->resv, NULL);
	bo->tbo.bdev->funcs->swap_notify(&bo->tbo);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, imp->invalidations, 2);
	KUNIT_EXPECT_NULL(test, imp->sgt);

	imp_detach(imp);
	dma_buf_put(dmabuf);
	drm_gem_object_put(&bo->tbo.base);
}

/*
 * An attach racing a pin. The core calls &dma_buf_ops.attach and only then,
 * after taking the reservation lock again, adds the attachment to the
 * dma-buf's list. A pin in between must count the newcomer in: here one
 * that cannot reach VRAM, so the pin must leave the buffer in system
 * memory, where the newcomer can map it. The core's two steps are replayed
 * here with the pin between them, as another thread may run it.
 */
static void test_attach_races_pin(struct kunit *test)
{
	struct fake_importer *pinner, *late;
	struct dma_buf_attachment *attach;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x42);
	pinner = fake_importer(test, "pinner", DMA_BIT_MASK(64), SZ_256K, true);
	late = fake_importer(test, "late", DMA_BIT_MASK(64), SZ_256K, false);
	KUNIT_ASSERT_EQ(test, imp_attach(pinner, dmabuf, &pinned_p2p_ops), 0);

	/* dma_buf_dynamic_attach(), first step. */
	attach = kzalloc_obj(*attach);
	KUNIT_ASSERT_NOT_NULL(test, attach);
	attach->dev = late->dev;
	attach->dmabuf = dmabuf;
	attach->importer_ops = &dynamic_ops;
	attach->importer_priv = late;
	KUNIT_ASSERT_EQ(test, dmabuf->ops->attach(dmabuf, attach), 0);

	/* Another thread pins... */
	KUNIT_EXPECT_EQ(test, imp_pin(pinner), 0);

	/* ...before the core lists the attachment. */
	dma_resv_lock(dmabuf->resv, NULL);
	list_add(&attach->node, &dmabuf->attachments);
	dma_resv_unlock(dmabuf->resv);
	late->attach = attach;

	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	sgt = imp_map(late);
	KUNIT_EXPECT_FALSE(test, IS_ERR(sgt));
	if (!IS_ERR(sgt)) {
		KUNIT_EXPECT_EQ(test, imp_kind(late), DRM_PRIME_P2P_MAP_PAGES);
		expect_contents(test, late, sgt, SZ_256K, 0x42);
	}

	imp_detach(late);
	imp_unpin(pinner);
	imp_detach(pinner);
	unexport(bo, dmabuf);
}

/* A device whose memory goes with it, as a PCI BAR does at removal. */
static const struct drm_prime_p2p_funcs revocable_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
};

/*
 * Device memory that goes away with the device is given only to importers
 * that can be told to let go of it: a pinned importer without
 * invalidate_mappings (RDMA's pinned umem) gets system memory, so that
 * revoke never leaves it a mapping of memory the driver is about to
 * release, and does not wait for it. A buffer that can only be in device
 * memory cannot be given to it at all.
 */
static void test_pinned_p2p_policy(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *dyn, *pinned;
	struct dma_buf *dmabuf, *vram_only;
	struct mock_bo *bo, *bo2;
	struct sg_table *sgt;
	unsigned long t0;
	int ret;

	dyn = fake_importer(test, "dyn", DMA_BIT_MASK(64), SZ_256K, true);
	pinned = fake_importer(test, "pinned", DMA_BIT_MASK(64), SZ_256K, true);

	/*
	 * Filled through a kernel mapping first: with these funcs a vmap
	 * would move the buffer to system memory.
	 */
	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x6d);
	md->p2p.funcs = &revocable_p2p_funcs;

	bo2 = mock_bo_create(test, SZ_64K, VRAM_ONLY);
	vram_only = export(test, bo2);
	ret = imp_attach(pinned, vram_only, &pinned_p2p_ops);
	KUNIT_EXPECT_EQ(test, ret, -EOPNOTSUPP);
	if (!ret)
		imp_detach(pinned);
	unexport(bo2, vram_only);

	KUNIT_ASSERT_EQ(test, imp_attach(dyn, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(dyn));
	KUNIT_EXPECT_EQ(test, imp_kind(dyn), DRM_PRIME_P2P_MAP_RESOURCE);
	imp_unmap(dyn);

	KUNIT_ASSERT_EQ(test, imp_attach(pinned, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_EXPECT_FALSE(test, pinned->attach->peer2peer);
	KUNIT_ASSERT_EQ(test, imp_pin(pinned), 0);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	sgt = imp_map(pinned);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(pinned), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, pinned, sgt, SZ_256K, 0x6d);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 0);

	/* Nothing of device memory is held: removal does not wait. */
	t0 = jiffies;
	drm_prime_p2p_revoke(&md->p2p, 4 * HZ);
	/* Not its timeout: what it waited for, if anything, was not there. */
	KUNIT_EXPECT_LT(test, jiffies - t0, 2 * HZ);
	expect_contents(test, pinned, sgt, SZ_256K, 0x6d);

	imp_unmap(pinned);
	imp_unpin(pinned);
	imp_detach(pinned);
	imp_detach(dyn);
	unexport(bo, dmabuf);
}

/*
 * A kernel mapping (dma_buf_vmap()) cannot be told to go: where device
 * memory goes with the device, a buffer that may be in system memory is
 * mapped there, and a kernel mapping of device memory is one revoke waits
 * for, as for an importer's mapping: up to its timeout, and no longer once
 * it is gone.
 */
static void test_revoke_vmap(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct dma_buf *dmabuf;
	struct iosys_map map;
	struct mock_bo *bo;
	unsigned long t0;
	int ret;

	md->p2p.funcs = &revocable_p2p_funcs;

	/* A buffer that may live in system memory is mapped there. */
	bo = mock_bo_create(test, SZ_64K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_vmap(dmabuf, &map);
	KUNIT_EXPECT_EQ(test, bo->tbo.resource->mem_type, TTM_PL_TT);
	if (!ret)
		dma_buf_vunmap(dmabuf, &map);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 0);
	unexport(bo, dmabuf);

	/* One that can only be in device memory is waited for. */
	bo = mock_bo_create(test, SZ_64K, VRAM_ONLY);
	dmabuf = export(test, bo);
	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_vmap(dmabuf, &map);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 1);

	t0 = jiffies;
	drm_prime_p2p_revoke(&md->p2p, HZ / 10);
	KUNIT_EXPECT_GE(test, jiffies - t0, HZ / 10);

	dma_resv_lock(dmabuf->resv, NULL);
	dma_buf_vunmap(dmabuf, &map);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 0);
	t0 = jiffies;
	drm_prime_p2p_revoke(&md->p2p, 4 * HZ);
	/* Not its timeout: what it waited for, if anything, was not there. */
	KUNIT_EXPECT_LT(test, jiffies - t0, 2 * HZ);
	unexport(bo, dmabuf);
}

struct late_fence {
	struct dma_fence base;
	spinlock_t lock;	/* the fence's */
	struct delayed_work work;
};

static const char *late_fence_name(struct dma_fence *fence)
{
	return "drm-prime-p2p-test";
}

static const struct dma_fence_ops late_fence_ops = {
	.get_driver_name = late_fence_name,
	.get_timeline_name = late_fence_name,
};

static void late_fence_signal(struct work_struct *work)
{
	struct late_fence *f = container_of(work, struct late_fence, work.work);

	dma_fence_signal(&f->base);
}

/* At the end of the test: signalled, and the test's reference dropped. */
static void late_fence_drop(void *data)
{
	struct late_fence *f = data;

	cancel_delayed_work_sync(&f->work);
	dma_fence_signal(&f->base);
	dma_fence_put(&f->base);
}

/*
 * A fence of its own context that the test signals, late or never. It is
 * freed by its last dma_fence_put() (dma_fence_free(), after an RCU grace
 * period), not by KUnit: a reservation object may hold it longer than the
 * test.
 */
static struct late_fence *late_fence_create(struct kunit *test)
{
	struct late_fence *f = kzalloc_obj(*f);
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, f);
	spin_lock_init(&f->lock);
	dma_fence_init(&f->base, &late_fence_ops, &f->lock,
		       dma_fence_context_alloc(1), 1);
	INIT_DELAYED_WORK(&f->work, late_fence_signal);
	ret = kunit_add_action_or_reset(test, late_fence_drop, f);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return f;
}

/* Add @f to @resv for @usage. */
static void add_fence(struct kunit *test, struct dma_resv *resv,
		      struct late_fence *f, enum dma_resv_usage usage)
{
	int ret;

	dma_resv_lock(resv, NULL);
	ret = dma_resv_reserve_fences(resv, 1);
	if (!ret)
		dma_resv_add_fence(resv, &f->base, usage);
	dma_resv_unlock(resv);
	KUNIT_ASSERT_EQ(test, ret, 0);
}

/*
 * Revoke waits for the fences of the importers' work: the memory stays the
 * device's until the DMA that was queued on it is done, even after every
 * importer has dropped its mapping (dma_buf_invalidate_mappings()). Here an
 * importer's fence signals 200 ms after the revoke starts.
 */
static void test_revoke_fence(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct late_fence *f;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned long t0;

	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));

	f = late_fence_create(test);
	add_fence(test, dmabuf->resv, f, DMA_RESV_USAGE_BOOKKEEP);

	t0 = jiffies;
	schedule_delayed_work(&f->work, msecs_to_jiffies(200));
	drm_prime_p2p_revoke(&md->p2p, 4 * HZ);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&f->base));
	KUNIT_EXPECT_GE(test, jiffies - t0, msecs_to_jiffies(190));
	KUNIT_EXPECT_LT(test, jiffies - t0, 2 * HZ);
	KUNIT_EXPECT_EQ(test, imp->invalidations, 1);
	KUNIT_EXPECT_NULL(test, imp->sgt);

	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * Pin waits for the buffer's pending move: the memory must be usable when
 * pin returns (&dma_buf_ops.pin). A driver that pipelines its moves leaves
 * a kernel fence in the reservation object; here it signals 200 ms later.
 */
static void test_pin_waits_for_move(struct kunit *test)
{
	struct fake_importer *imp;
	struct late_fence *f;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned long t0;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "pinned", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &pinned_p2p_ops), 0);

	f = late_fence_create(test);
	add_fence(test, dmabuf->resv, f, DMA_RESV_USAGE_KERNEL);

	t0 = jiffies;
	schedule_delayed_work(&f->work, msecs_to_jiffies(200));
	KUNIT_EXPECT_EQ(test, imp_pin(imp), 0);
	KUNIT_EXPECT_TRUE(test, dma_fence_is_signaled(&f->base));
	KUNIT_EXPECT_GE(test, jiffies - t0, msecs_to_jiffies(190));
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);

	imp_unpin(imp);
	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * A fence that never signals does not hold up removal for ever: revoke
 * waits for it at most its timeout, and says so.
 */
static void test_revoke_fence_timeout(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct late_fence *f;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned long t0;

	bo = mock_bo_create(test, SZ_64K, VRAM_ONLY);
	dmabuf = export(test, bo);
	f = late_fence_create(test);
	add_fence(test, dmabuf->resv, f, DMA_RESV_USAGE_BOOKKEEP);

	t0 = jiffies;
	drm_prime_p2p_revoke(&md->p2p, HZ / 10);
	KUNIT_EXPECT_GE(test, jiffies - t0, HZ / 10);
	KUNIT_EXPECT_LT(test, jiffies - t0, HZ);
	KUNIT_EXPECT_FALSE(test, dma_fence_is_signaled(&f->base));

	dma_fence_signal(&f->base);
	unexport(bo, dmabuf);
}

/*
 * A race: importers attaching, mapping, checking and detaching, a pinning
 * importer, eviction back and forth, and revocation halfway, on threads of
 * their own for 0.8 s. Each thread counts what went wrong rather than
 * asserting (only the test's own thread may); the test then checks that
 * nothing did, that every move told every importer that had a mapping
 * before it returned, that every mapping named the buffer's bytes, and
 * that no mapping and no pin is left. Lockdep and KASAN watch the rest.
 */
struct race {
	struct mock_bo *bo;
	struct dma_buf *dmabuf;
	struct fake_importer *dyn[2];	/* reaches VRAM, does not */
	struct fake_importer *pinner;
	atomic_t maps, moves, pins, stale, bad_bytes, errors;
	/* The first error, and where: what the test says when one came. */
	atomic_t first_err;
	const char *first_site;
};

static void race_error(struct race *r, const char *site, int err)
{
	/*
	 * kthread_stop() sets TIF_NOTIFY_SIGNAL: an interruptible wait of a
	 * thread being stopped ends with -EINTR, as it should.
	 */
	if ((err == -EINTR || err == -ERESTARTSYS) && kthread_should_stop())
		return;
	if (atomic_cmpxchg(&r->first_err, 0, err ?: -EPROTO) == 0)
		WRITE_ONCE(r->first_site, site);
	atomic_inc(&r->errors);
}

/* Bytes of the live mapping @sgt that are not the pattern; lock held. */
static size_t race_bad_bytes(struct fake_importer *imp, struct sg_table *sgt,
			     size_t size)
{
	struct scatterlist *sg;
	size_t off = 0, bad = 0, j;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		const u8 *va = phys_to_virt(dma_to_phys(imp->dev,
							sg_dma_address(sg)));

		for (j = 0; j < sg_dma_len(sg) && off + j < size; j += 997)
			bad += va[j] != pattern(off + j, 0x5a);
		off += sg_dma_len(sg);
	}
	return bad + (off != size);
}

static int race_importer(void *data)
{
	struct race *r = data;
	unsigned int n = 0;

	while (!kthread_should_stop()) {
		struct fake_importer *imp = r->dyn[n++ & 1];
		struct sg_table *sgt;
		int ret;

		ret = imp_attach(imp, r->dmabuf, &dynamic_p2p_ops);
		if (ret) {
			/* Revoked, or pinned where this one does not reach. */
			if (ret != -ENODEV && ret != -EBUSY)
				race_error(r, "importer attach", ret);
			usleep_range(1000, 2000);
			continue;
		}
		dma_resv_lock(r->dmabuf->resv, NULL);
		sgt = dma_buf_map_attachment(imp->attach, DMA_BIDIRECTIONAL);
		if (!IS_ERR(sgt)) {
			imp->sgt = sgt;
			atomic_inc(&r->maps);
			if (race_bad_bytes(imp, sgt, r->dmabuf->size))
				atomic_inc(&r->bad_bytes);
		} else if (PTR_ERR(sgt) != -ENODEV && PTR_ERR(sgt) != -EBUSY) {
			/* -EBUSY: pinned where this one does not reach. */
			race_error(r, "importer map", PTR_ERR(sgt));
		}
		dma_resv_unlock(r->dmabuf->resv);
		cond_resched();
		imp_detach(imp);
	}
	return 0;
}

static int race_evictor(void *data)
{
	struct ttm_placement tt = { .num_placement = 1, .placement = &tt_place };
	struct ttm_place vram_place = { .mem_type = TTM_PL_VRAM };
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_place };
	struct ttm_operation_ctx ctx = { };
	struct race *r = data;
	unsigned int n = 0;

	while (!kthread_should_stop()) {
		struct ttm_buffer_object *tbo = &r->bo->tbo;
		u32 before;
		int ret;

		dma_resv_lock(tbo->base.resv, NULL);
		before = tbo->resource->mem_type;
		ret = ttm_bo_validate(tbo, n++ & 1 ? &vram : &tt, &ctx);
		if (!ret && tbo->resource->mem_type != before) {
			atomic_inc(&r->moves);
			/* Told before the move returned: no mapping is left. */
			if (r->dyn[0]->sgt || r->dyn[1]->sgt)
				atomic_inc(&r->stale);
		} else if (ret && !tbo->pin_count) {
			race_error(r, n & 1 ? "evict to TT" : "move to VRAM",
				   ret);
		}
		dma_resv_unlock(tbo->base.resv);
		usleep_range(500, 1000);
	}
	return 0;
}

static int race_pinner(void *data)
{
	struct race *r = data;
	struct fake_importer *imp = r->pinner;

	while (!kthread_should_stop()) {
		struct sg_table *sgt;
		int ret;

		ret = imp_attach(imp, r->dmabuf, &pinned_p2p_ops);
		if (ret) {
			if (ret != -ENODEV && ret != -EBUSY)
				race_error(r, "pinner attach", ret);
			usleep_range(1000, 2000);
			continue;
		}
		dma_resv_lock(r->dmabuf->resv, NULL);
		ret = dma_buf_pin(imp->attach);
		if (!ret) {
			atomic_inc(&r->pins);
			sgt = dma_buf_map_attachment(imp->attach,
						     DMA_BIDIRECTIONAL);
			if (!IS_ERR(sgt)) {
				if (race_bad_bytes(imp, sgt, r->dmabuf->size))
					atomic_inc(&r->bad_bytes);
				dma_buf_unmap_attachment(imp->attach, sgt,
							 DMA_BIDIRECTIONAL);
			} else if (PTR_ERR(sgt) != -ENODEV) {
				race_error(r, "pinner map", PTR_ERR(sgt));
			}
			dma_buf_unpin(imp->attach);
		} else if (ret != -ENODEV && ret != -EBUSY) {
			race_error(r, "pin", ret);
		}
		dma_resv_unlock(r->dmabuf->resv);
		usleep_range(500, 1000);
		dma_buf_detach(r->dmabuf, imp->attach);
		imp->attach = NULL;
	}
	return 0;
}

static void test_race(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct task_struct *t[3];
	struct race *r;
	unsigned int i;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	r->dmabuf = export(test, r->bo);
	fill(test, r->dmabuf, 0x5a);
	r->dyn[0] = fake_importer(test, "dyn-p2p", DMA_BIT_MASK(64), SZ_64K,
				  true);
	r->dyn[1] = fake_importer(test, "dyn-sys", DMA_BIT_MASK(64), SZ_64K,
				  false);
	r->pinner = fake_importer(test, "pinner", DMA_BIT_MASK(64), SZ_64K,
				  true);

	t[0] = kthread_run(race_importer, r, "p2p-race-imp");
	t[1] = kthread_run(race_evictor, r, "p2p-race-evict");
	t[2] = kthread_run(race_pinner, r, "p2p-race-pin");
	for (i = 0; i < ARRAY_SIZE(t); i++)
		KUNIT_EXPECT_FALSE(test, IS_ERR(t[i]));
	msleep(400);
	drm_prime_p2p_revoke(&md->p2p, HZ);
	msleep(400);
	for (i = 0; i < ARRAY_SIZE(t); i++)
		if (!IS_ERR(t[i]))
			kthread_stop(t[i]);

	kunit_info(test, "%d maps, %d moves, %d pins in 0.8 s\n",
		   atomic_read(&r->maps), atomic_read(&r->moves),
		   atomic_read(&r->pins));
	KUNIT_EXPECT_GT(test, atomic_read(&r->maps), 0);
	KUNIT_EXPECT_GT(test, atomic_read(&r->moves), 0);
	KUNIT_EXPECT_GT(test, atomic_read(&r->pins), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->stale), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&r->bad_bytes), 0);
	KUNIT_EXPECT_EQ_MSG(test, atomic_read(&r->errors), 0,
			    "first: %d at %s", atomic_read(&r->first_err),
			    r->first_site ?: "-");
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&md->p2p.device_mapped), 0);
	KUNIT_EXPECT_EQ(test, r->bo->tbo.pin_count, 0);
	KUNIT_EXPECT_TRUE(test, list_empty(&r->dmabuf->attachments));
	unexport(r->bo, r->dmabuf);
}

/*
 * Importers that do not balance their calls: the helper warns once and
 * cleans up, leaving the buffer neither mapped nor pinned. The mappings left
 * behind are made through the ops, as the core makes them: one made through
 * dma_buf_map_attachment() would leave DMABUF_DEBUG's copy of the table
 * behind, which is the core's to free.
 */
static void test_unbalanced(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *dyn, *stat, *pin;
	/* Mappings and pins left after each detach. */
	struct {
		struct fake_importer *imp;
		int mapped;
		unsigned int pins;
	} left[] = { { .mapped = 1, .pins = 2 }, { .mapped = 0, .pins = 1 },
		     { .mapped = 0, .pins = 0 } };
	struct sg_table foreign = {}, *sgt;
	unsigned int i;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	dyn = fake_importer(test, "dyn", DMA_BIT_MASK(64), SZ_64K, true);
	stat = fake_importer(test, "stat", DMA_BIT_MASK(64), SZ_64K, true);
	pin = fake_importer(test, "pin", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(dyn, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_attach(stat, dmabuf, NULL), 0);
	KUNIT_ASSERT_EQ(test, imp_attach(pin, dmabuf, &pinned_p2p_ops), 0);
	left[0].imp = dyn;
	left[1].imp = stat;
	left[2].imp = pin;

	/*
	 * The static importer maps, pinning as the core does for it: in
	 * system memory, which tells the dynamic one once and moves nothing
	 * after. The dynamic one maps twice and unmaps once.
	 */
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dmabuf->ops->pin(stat->attach), 0);
	sgt = dmabuf->ops->map_dma_buf(stat->attach, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, sgt);
	sgt = dmabuf->ops->map_dma_buf(dyn->attach, DMA_BIDIRECTIONAL);
	KUNIT_EXPECT_NOT_ERR_OR_NULL(test, sgt);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(dyn));
	imp_unmap(dyn);
	KUNIT_EXPECT_EQ(test, dyn->invalidations, 1);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, imp_pin(pin), 0);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 2);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 2);

	kunit_warning_suppress(test) {
		/* A table the attachment was not given, an unpin too many. */
		dma_resv_lock(dmabuf->resv, NULL);
		dmabuf->ops->unmap_dma_buf(dyn->attach, &foreign,
					   DMA_BIDIRECTIONAL);
		dma_resv_unlock(dmabuf->resv);
		imp_unpin(dyn);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 2);
		KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 2);
		KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 2);

		/* Detached with a mapping, a pinned mapping, a pin left. */
		for (i = 0; i < ARRAY_SIZE(left); i++) {
			dma_buf_detach(dmabuf, left[i].imp->attach);
			left[i].imp->attach = NULL;
			KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 3 + i);
			KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p),
					left[i].mapped);
			KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, left[i].pins);
		}
	}

	/* A balanced importer detaches without a warning. */
	kunit_warning_suppress(test) {
		KUNIT_ASSERT_EQ(test, imp_attach(dyn, dmabuf, &dynamic_p2p_ops), 0);
		KUNIT_EXPECT_NOT_ERR_OR_NULL(test, imp_map(dyn));
		imp_detach(dyn);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 0);
	}
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	unexport(bo, dmabuf);
}

/* Segment limits: entries split at the importer's maximum, no further. */
static void test_segments(struct kunit *test)
{
	static const unsigned int segs[] = { SZ_4K, SZ_64K, SZ_1M, SZ_2M };
	static const char * const names[] = { "seg4k", "seg64k", "seg1m", "seg2m" };
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	unsigned int i;

	bo = mock_bo_create(test, SZ_1M, VRAM_ONLY);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x3c);
	for (i = 0; i < ARRAY_SIZE(segs); i++) {
		imp = fake_importer(test, names[i], DMA_BIT_MASK(64), segs[i], true);
		KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
		sgt = imp_map(imp);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
		KUNIT_EXPECT_EQ(test, sgt->nents, DIV_ROUND_UP(SZ_1M, segs[i]));
		expect_contents(test, imp, sgt, SZ_1M, 0x3c);
		imp_detach(imp);
	}
	unexport(bo, dmabuf);
}

/*
 * Range @i of the @nr_ranges equal ranges of @res, a resource of @size bytes
 * in VRAM: adjacent (@stride 1) or each followed by a gap of its own size
 * (@stride 2).
 */
static void mock_range(struct mock_dev *md, const struct ttm_resource *res,
		       size_t size, unsigned int i, phys_addr_t *paddr,
		       size_t *len)
{
	size_t piece = size / md->nr_ranges;

	*paddr = md->vram_phys +
		 ((phys_addr_t)res->start << PAGE_SHIFT) * md->stride +
		 (phys_addr_t)i * piece * md->stride;
	*len = piece;
}

/* The driver's resource_ranges for a VRAM manager that scatters. */
static int split_resource_ranges(struct drm_gem_object *obj,
				 struct ttm_resource *res,
				 struct phys_vec **ranges)
{
	struct mock_dev *md = container_of(obj->dev, struct mock_dev, drm);
	unsigned int i, nr = md->nr_ranges;
	struct phys_vec *vec;

	if (res->mem_type != TTM_PL_VRAM)
		return -EINVAL;
	md->ranges_calls++;
	vec = kvmalloc_objs(*vec, nr);
	if (!vec)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		mock_range(md, res, obj->size, i, &vec[i].paddr, &vec[i].len);
	*ranges = vec;
	return nr;
}

static const struct drm_prime_p2p_funcs split_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.resource_ranges = split_resource_ranges,
	.pinned_p2p = true,
};

/*
 * A driver's ranges: adjacent ones merge into one entry up to the segment
 * limit, ranges with gaps stay apart, and each entry's DMA address names
 * the physical range it was given for.
 */
static void test_ranges(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	const struct drm_prime_p2p_funcs *funcs = md->p2p.funcs;
	struct fake_importer *imp;
	struct scatterlist *sg;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	phys_addr_t base;
	unsigned int i;

	md->p2p.funcs = &split_p2p_funcs;
	md->nr_ranges = 4;
	md->stride = 1;
	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x5e);

	imp = fake_importer(test, "merged", DMA_BIT_MASK(64), SZ_1M, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, sgt->nents, 1);
	expect_contents(test, imp, sgt, SZ_256K, 0x5e);
	imp_detach(imp);

	imp = fake_importer(test, "seg64k", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, sgt->nents, 4);
	expect_contents(test, imp, sgt, SZ_256K, 0x5e);
	imp_detach(imp);

	/*
	 * With gaps: the ranges lie within VRAM, twice as far apart. Those of
	 * a resource never change: another buffer has them.
	 */
	unexport(bo, dmabuf);
	md->stride = 2;
	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	dma_resv_lock(bo->tbo.base.resv, NULL);
	base = md->vram_phys + ((phys_addr_t)bo->tbo.resource->start << PAGE_SHIFT) * 2;
	dma_resv_unlock(bo->tbo.base.resv);
	KUNIT_ASSERT_LE(test, base + 2 * SZ_256K, md->vram_phys + VRAM_SIZE);
	imp = fake_importer(test, "gaps", DMA_BIT_MASK(64), SZ_1M, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, sgt->nents, 4);
	for_each_sgtable_dma_sg(sgt, sg, i) {
		KUNIT_EXPECT_EQ(test, dma_to_phys(imp->dev, sg_dma_address(sg)),
				base + (phys_addr_t)i * 2 * SZ_64K);
		KUNIT_EXPECT_EQ(test, sg_dma_len(sg), SZ_64K);
	}
	imp_detach(imp);

	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	unexport(bo, dmabuf);
	md->p2p.funcs = funcs;
}

/*
 * The driver is asked for the ranges of a resource once, however often the
 * buffer is mapped; after a move, again, and the mappings name the new
 * ranges.
 */
static void test_ranges_cached(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement tt = { .num_placement = 1,
				    .placement = &tt_place };
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_only };
	struct mock_dev *md = test->priv;
	const struct drm_prime_p2p_funcs *funcs = md->p2p.funcs;
	struct fake_importer *imp, *other;
	struct mock_bo *bo, *filler;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	unsigned long start;
	unsigned int i;

	md->p2p.funcs = &split_p2p_funcs;
	md->nr_ranges = 4;
	md->stride = 1;
	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x2b);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	other = fake_importer(test, "other", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_attach(other, dmabuf, &dynamic_p2p_ops), 0);
	for (i = 0; i < 3; i++) {
		sgt = imp_map(imp);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
		expect_contents(test, imp, sgt, SZ_256K, 0x2b);
		imp_unmap(imp);
	}
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(other));
	KUNIT_EXPECT_EQ(test, md->ranges_calls, 1);

	/* Told, though nothing moved: asked again. */
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_TRUE(test, drm_prime_p2p_move_notify(&bo->p2p, &bo->tbo,
							  bo->tbo.resource));
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, other->invalidations, 1);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	expect_contents(test, imp, sgt, SZ_256K, 0x2b);
	imp_unmap(imp);
	KUNIT_EXPECT_EQ(test, md->ranges_calls, 2);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(other));

	/* Out to TT and back into VRAM elsewhere: asked again. */
	dma_resv_lock(dmabuf->resv, NULL);
	start = bo->tbo.resource->start;
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &tt, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, other->invalidations, 2);
	filler = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &vram, &ctx), 0);
	KUNIT_EXPECT_NE(test, bo->tbo.resource->start, start);
	KUNIT_EXPECT_EQ(test, bo->tbo.resource->mem_type, TTM_PL_VRAM);
	dma_resv_unlock(dmabuf->resv);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, md->ranges_calls, 3);
	KUNIT_EXPECT_EQ(test, dma_to_phys(imp->dev, sg_dma_address(sgt->sgl)),
			md->vram_phys + ((phys_addr_t)bo->tbo.resource->start <<
					 PAGE_SHIFT));
	expect_contents(test, imp, sgt, SZ_256K, 0x2b);
	imp_detach(imp);
	imp_detach(other);
	drm_gem_object_put(&filler->tbo.base);
	unexport(bo, dmabuf);
	md->p2p.funcs = funcs;
}

/*
 * A map of a buffer already where its importer reaches it moves nothing;
 * one of a buffer out of the pages its place allows is moved into them.
 */
static void test_map_placed(struct kunit *test)
{
	const unsigned long pages = SZ_512K >> PAGE_SHIFT;
	struct ttm_operation_ctx ctx = { };
	struct ttm_place high = { .fpfn = pages, .mem_type = TTM_PL_VRAM };
	struct ttm_placement out = { .num_placement = 1, .placement = &high };
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	u64 copied;

	/* Only the first 512 KiB of VRAM will do for this buffer. */
	md->vram_lpfn = pages;
	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	md->vram_lpfn = 0;
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x3c);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	copied = md->copied;
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));
	imp_unmap(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));
	imp_unmap(imp);
	KUNIT_EXPECT_EQ(test, md->copied, copied);

	/* Moved beyond them (as TTM may, evicting): the next map moves it back. */
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &out, &ctx), 0);
	KUNIT_EXPECT_GE(test, bo->tbo.resource->start, pages);
	dma_resv_unlock(dmabuf->resv);
	copied = md->copied;
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_LE(test, bo->tbo.resource->start + pages, pages);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, md->copied, copied + SZ_512K);
	expect_contents(test, imp, sgt, SZ_512K, 0x3c);
	imp_detach(imp);
	unexport(bo, dmabuf);
}

/*
 * The memory of an unmapped mapping is kept for the next, whatever its
 * size: a mapping of more ranges after a move gets memory enough for them,
 * and detaching frees what is kept (kmemleak would say otherwise).
 */
static void test_spare_mapping(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_placement tt = { .num_placement = 1,
				    .placement = &tt_place };
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_only };
	struct mock_dev *md = test->priv;
	const struct drm_prime_p2p_funcs *funcs = md->p2p.funcs;
	size_t exp_bytes, att_bytes, first, kept;
	struct fake_importer *imp;
	struct scatterlist *sg;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	phys_addr_t base;
	unsigned int i;

	md->p2p.funcs = &split_p2p_funcs;
	md->nr_ranges = 2;
	md->stride = 2;
	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_1M, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imp));
	dma_resv_lock(dmabuf->resv, NULL);
	first = drm_prime_p2p_footprint(imp->attach, &exp_bytes, &att_bytes);
	dma_resv_unlock(dmabuf->resv);
	imp_unmap(imp);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_footprint(imp->attach, &exp_bytes,
						      &kept), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, kept, att_bytes + first);

	/* 64 ranges after a move: more than the kept memory holds. */
	md->nr_ranges = 64;
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &tt, &ctx), 0);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &vram, &ctx), 0);
	base = md->vram_phys + ((phys_addr_t)bo->tbo.resource->start << PAGE_SHIFT) * 2;
	dma_resv_unlock(dmabuf->resv);
	/* With gaps, the ranges still lie within VRAM. */
	KUNIT_ASSERT_LE(test, base + 2 * SZ_256K, md->vram_phys + VRAM_SIZE);
	for (i = 0; i < 2; i++) {
		unsigned int j;

		sgt = imp_map(imp);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
		KUNIT_EXPECT_EQ(test, sgt->nents, 64);
		for_each_sgtable_dma_sg(sgt, sg, j) {
			KUNIT_EXPECT_EQ(test, dma_to_phys(imp->dev, sg_dma_address(sg)),
					base + (phys_addr_t)j * 2 * SZ_4K);
			KUNIT_EXPECT_EQ(test, sg_dma_len(sg), SZ_4K);
		}
		dma_resv_lock(dmabuf->resv, NULL);
		KUNIT_EXPECT_GT(test, drm_prime_p2p_footprint(imp->attach,
							      &exp_bytes,
							      &att_bytes), first);
		dma_resv_unlock(dmabuf->resv);
		imp_unmap(imp);
	}
	imp_detach(imp);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	unexport(bo, dmabuf);
	md->p2p.funcs = funcs;
}

/*
 * Pinned where an importer does not reach: the driver pinned the buffer in
 * VRAM (for scanout) after a non-P2P importer attached. That importer's
 * pin and map fail as a newcomer's attach does, with one errno, -EBUSY;
 * once the driver unpins, its map moves the buffer where it reaches.
 */
static void test_pinned_out_of_reach(struct kunit *test)
{
	struct ttm_place vram_place = { .mem_type = TTM_PL_VRAM };
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_place };
	struct ttm_operation_ctx ctx = { };
	struct fake_importer *early, *late;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	int ret;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x3c);
	early = fake_importer(test, "early", DMA_BIT_MASK(64), SZ_64K, false);
	KUNIT_ASSERT_EQ(test, imp_attach(early, dmabuf, &dynamic_ops), 0);

	dma_resv_lock(dmabuf->resv, NULL);
	ret = ttm_bo_validate(&bo->tbo, &vram, &ctx);
	if (!ret)
		ttm_bo_pin(&bo->tbo);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_ASSERT_EQ(test, ret, 0);

	KUNIT_EXPECT_PTR_EQ(test, imp_map(early), ERR_PTR(-EBUSY));
	KUNIT_EXPECT_EQ(test, imp_pin(early), -EBUSY);
	late = fake_importer(test, "late", DMA_BIT_MASK(64), SZ_64K, false);
	KUNIT_EXPECT_EQ(test, imp_attach(late, dmabuf, &dynamic_ops), -EBUSY);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);

	dma_resv_lock(dmabuf->resv, NULL);
	ttm_bo_unpin(&bo->tbo);
	dma_resv_unlock(dmabuf->resv);
	sgt = imp_map(early);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, imp_kind(early), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, early, sgt, SZ_256K, 0x3c);
	imp_detach(early);
	unexport(bo, dmabuf);
}

/*
 * Device memory is described by the driver: the helper cannot know whether
 * a resource is one contiguous range (a buddy allocator's is not), so a
 * device without resource_ranges is refused, with -EINVAL.
 */
static void test_ranges_required(struct kunit *test)
{
	static const struct drm_prime_p2p_funcs no_ranges = {
		.placement = mock_placement,
		.reachable = mock_reachable,
	};
	struct mock_dev *md = test->priv;
	struct drm_prime_p2p_device *p2p;
	int ret;

	p2p = kunit_kzalloc(test, sizeof(*p2p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p2p);
	ret = drm_prime_p2p_device_init(p2p, &md->drm, &no_ranges);
	KUNIT_EXPECT_EQ(test, ret, -EINVAL);
	if (!ret)
		drm_prime_p2p_device_fini(p2p);
}

/*
 * The driver's cap on segments (amdgpu and xe cap at 2 GiB; 256 KiB here):
 * one contiguous MiB of VRAM comes in entries of the cap where the
 * importer takes longer ones, and of the importer's size where it takes
 * shorter ones. A cap that is not a page multiple is refused.
 */
static void test_max_segment(struct kunit *test)
{
	static const struct drm_prime_p2p_funcs capped = {
		.placement = mock_placement,
		.reachable = mock_reachable,
		.resource_ranges = drm_prime_p2p_contiguous_ranges,
		.pinned_p2p = true,
		.max_segment = SZ_256K,
	};
	static const struct drm_prime_p2p_funcs bad_cap = {
		.placement = mock_placement,
		.resource_ranges = drm_prime_p2p_contiguous_ranges,
		.max_segment = SZ_256K + 1,
	};
	static const unsigned int segs[] = { SZ_64K, SZ_1M, UINT_MAX };
	static const char * const names[] = { "seg64k", "seg1m", "segmax" };
	struct mock_dev *md = test->priv;
	const struct drm_prime_p2p_funcs *funcs = md->p2p.funcs;
	struct drm_prime_p2p_device *p2p;
	struct fake_importer *imp;
	struct scatterlist *sg;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	unsigned int i, j;

	p2p = kunit_kzalloc(test, sizeof(*p2p), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, p2p);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_device_init(p2p, &md->drm,
							&bad_cap), -EINVAL);

	md->p2p.funcs = &capped;
	bo = mock_bo_create(test, SZ_1M, VRAM_ONLY);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x4e);
	for (i = 0; i < ARRAY_SIZE(segs); i++) {
		size_t want = min_t(size_t, segs[i], SZ_256K);

		imp = fake_importer(test, names[i], DMA_BIT_MASK(64), segs[i],
				    true);
		KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
		sgt = imp_map(imp);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
		KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_RESOURCE);
		KUNIT_EXPECT_EQ(test, sgt->nents, SZ_1M / want);
		for_each_sgtable_dma_sg(sgt, sg, j)
			KUNIT_EXPECT_LE(test, sg_dma_len(sg), want);
		expect_contents(test, imp, sgt, SZ_1M, 0x4e);
		imp_detach(imp);
	}
	unexport(bo, dmabuf);
	md->p2p.funcs = funcs;
}

/* Bad input: an importer whose segments are smaller than a page. */
static void test_tiny_segments(struct kunit *test)
{
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_64K, TT_ONLY);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), 512, true);
	KUNIT_EXPECT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), -EINVAL);
	unexport(bo, dmabuf);
}

/*
 * The importer's DMA mask: VRAM within it is mapped, VRAM beyond it (there
 * is no IOMMU here) is out of reach of this importer, even though the
 * driver says it reaches it; a buffer that cannot leave VRAM fails to map.
 */
static void test_dma_mask(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	u64 below = rounddown_pow_of_two(md->vram_phys) - 1;
	u64 above = roundup_pow_of_two(md->vram_phys + VRAM_SIZE) - 1;
	struct fake_importer *low, *high;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x42);
	low = fake_importer(test, "low", below, SZ_1M, true);
	high = fake_importer(test, "high", above, SZ_1M, true);

	KUNIT_ASSERT_EQ(test, imp_attach(low, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_EXPECT_PTR_EQ(test, imp_map(low), ERR_PTR(-ERANGE));
	KUNIT_EXPECT_EQ(test, imp_kind(low), DRM_PRIME_P2P_MAP_NONE);

	KUNIT_ASSERT_EQ(test, imp_attach(high, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(high);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(high), DRM_PRIME_P2P_MAP_RESOURCE);
	KUNIT_EXPECT_EQ(test, sgt->nents, 1);
	expect_contents(test, high, sgt, SZ_256K, 0x42);

	imp_detach(low);
	imp_detach(high);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	unexport(bo, dmabuf);
}

/* Move @bo to VRAM, its reservation lock held. */
static int place_in_vram(struct mock_bo *bo)
{
	struct ttm_place vram_place = { .mem_type = TTM_PL_VRAM };
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_place };
	struct ttm_operation_ctx ctx = { };

	return ttm_bo_validate(&bo->tbo, &vram, &ctx);
}

/*
 * A pin is for good: a pinning importer that the driver says reaches VRAM,
 * but whose DMA mask stops short of it (no IOMMU here), has the buffer
 * pinned in system memory, where its map can be made, not in VRAM, where
 * it would fail with -ERANGE. Once another importer pinned the buffer in
 * VRAM, that importer's pin fails with -EBUSY instead.
 */
static void test_pin_dma_mask(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	u64 below = rounddown_pow_of_two(md->vram_phys) - 1;
	struct fake_importer *low, *high;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;

	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	KUNIT_ASSERT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	low = fake_importer(test, "low", below, SZ_1M, true);
	KUNIT_ASSERT_EQ(test, imp_attach(low, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_pin(low), 0);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);
	imp_unpin(low);
	imp_detach(low);

	/* Pinned in VRAM by an importer that can address it first. */
	high = fake_importer(test, "high", DMA_BIT_MASK(64), SZ_1M, true);
	KUNIT_ASSERT_EQ(test, imp_attach(high, dmabuf, &pinned_p2p_ops), 0);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_ASSERT_EQ(test, place_in_vram(bo), 0);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_ASSERT_EQ(test, imp_pin(high), 0);
	KUNIT_ASSERT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	KUNIT_ASSERT_EQ(test, imp_attach(low, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_EXPECT_EQ(test, imp_pin(low), -EBUSY);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);
	imp_detach(low);
	imp_unpin(high);
	imp_detach(high);
	unexport(bo, dmabuf);

	/* A buffer that cannot leave VRAM is not pinned where low cannot map. */
	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	KUNIT_ASSERT_EQ(test, imp_attach(low, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_EXPECT_EQ(test, imp_pin(low), -EBUSY);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	imp_detach(low);
	unexport(bo, dmabuf);
}

static int fail_countdown(void)
{
	struct mock_dev *md = kunit_get_current_test()->priv;

	if (md->countdown && !--md->countdown) {
		md->failed++;
		return 1;
	}
	return 0;
}

/*
 * One pass through every path of the helper: export, vmap, a P2P importer
 * mapping VRAM, a non-P2P one migrating it and mapping pages, a static one
 * pinning. Returns the first error, having undone what succeeded.
 */
static int every_path(struct kunit *test, struct mock_bo *bo,
		      struct fake_importer **imps)
{
	struct dma_buf *dmabuf;
	struct iosys_map map;
	int ret;

	dmabuf = bo->tbo.base.funcs->export(&bo->tbo.base, O_RDWR);
	if (IS_ERR(dmabuf))
		return PTR_ERR(dmabuf);
	bo->tbo.base.dma_buf = dmabuf;

	dma_resv_lock(dmabuf->resv, NULL);
	ret = dma_buf_vmap(dmabuf, &map);
	if (!ret)
		dma_buf_vunmap(dmabuf, &map);
	dma_resv_unlock(dmabuf->resv);
	if (ret)
		goto out;

	ret = imp_attach(imps[0], dmabuf, &dynamic_p2p_ops);
	if (ret)
		goto out;
	ret = PTR_ERR_OR_ZERO(imp_map(imps[0]));
	if (ret)
		goto out;
	ret = imp_attach(imps[1], dmabuf, &dynamic_ops);
	if (ret)
		goto out;
	ret = PTR_ERR_OR_ZERO(imp_map(imps[1]));
	if (ret)
		goto out;
	imp_detach(imps[1]);
	ret = imp_attach(imps[2], dmabuf, NULL);
	if (ret)
		goto out;
	ret = PTR_ERR_OR_ZERO(imp_map(imps[2]));
out:
	imp_detach(imps[2]);
	imp_detach(imps[1]);
	imp_detach(imps[0]);
	bo->tbo.base.dma_buf = NULL;
	dma_buf_put(dmabuf);
	return ret;
}

/* Every failure point, failed in turn, returns its error cleanly. */
static void test_fault_injection(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imps[3];
	unsigned int n;
	int ret;

	imps[0] = fake_importer(test, "p2p", DMA_BIT_MASK(64), SZ_64K, true);
	imps[1] = fake_importer(test, "sys", DMA_BIT_MASK(64), SZ_64K, false);
	imps[2] = fake_importer(test, "static", DMA_BIT_MASK(64), SZ_64K, false);
	kunit_activate_static_stub(test, drm_prime_p2p_may_fail, fail_countdown);

	for (n = 1; n < 100; n++) {
		struct mock_bo *bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);

		md->countdown = n;
		md->failed = 0;
		ret = every_path(test, bo, imps);
		md->countdown = 0;
		drm_gem_object_put(&bo->tbo.base);
		flush_delayed_fput();

		KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
		if (!md->failed) {
			KUNIT_EXPECT_EQ(test, ret, 0);
			break;
		}
		KUNIT_EXPECT_LT_MSG(test, ret, 0, "failure point %u was ignored", n);
	}
	kunit_deactivate_static_stub(test, drm_prime_p2p_may_fail);
	/* Every path passed through at least this many failure points. */
	KUNIT_EXPECT_GE(test, n, 19);
	KUNIT_EXPECT_LT(test, n, 100);
	kunit_info(test, "%u failure points failed in turn\n", n - 1);
}

/*
 * The benchmark (suite drm-prime-p2p-bench, slow): what mapping costs an
 * importer through the helper and through the exporters drivers carry
 * today, each a dma-buf exporter mapped and unmapped by the same importer
 * through dma_buf_map_attachment(), on the same buffers, in one run.
 * scripts/bench runs it and prints the tables.
 *
 * VRAM is a 1 GiB physical range with no RAM behind it, mapped as MMIO as
 * a PCI BAR is, in 1, 16 or 256 ranges per buffer with a gap after each.
 * Per buffer size and layout:
 *
 * - helper: a dynamic P2P importer's map and unmap through the helper;
 * - block: amdgpu's and xe's exporter (amdgpu_dma_buf_map() with
 *   amdgpu_vram_mgr_alloc_sgt(), xe_dma_buf_map() with
 *   xe_ttm_vram_mgr_alloc_sgt()): validate the buffer in its placement,
 *   walk the resource twice, and map one dma_map_resource() and one sg
 *   entry per VRAM block of at most 2 GiB; with blocks of 2 MiB (VRAM
 *   allocated in fragments) and with the largest blocks a buddy allocator
 *   makes of each range (naturally aligned powers of two);
 * - pages: the generic PRIME exporter, drm_gem_prime_export(), of a buffer
 *   of the same size pinned in TT (drm_gem_map_dma_buf() with
 *   drm_prime_pages_to_sg()), for a static importer;
 * - floor: no exporter, the mapping alone: one dma_map_phys() per range
 *   into an sg table of as many entries, and their unmap.
 *
 * The importer holds the reservation lock around each timed batch, as a
 * dynamic importer holds it around its map: what is timed is the core's
 * and the exporter's work. Then a non-P2P importer's first map, which
 * migrates VRAM to TT, its maps after that, and the bytes copied; and the
 * cost of one invalidation with 1, 8 and 64 dynamic importers mapped.
 * Times are medians over BENCH_REPEATS batches, in ns per map and unmap,
 * each path timed on a worker (see struct bench_job).
 */
#define BENCH_FAKE_PHYS		BIT_ULL(40)
/* Within the 39 bits of output address QEMU's Intel IOMMU translates to. */
#define BENCH_IOMMU_PHYS	BIT_ULL(38)
#define BENCH_VRAM		SZ_1G
#define BENCH_BLOCK		SZ_2M
#define BENCH_SEG_MAX		SZ_2G	/* amdgpu's and xe's largest entry */
#define BENCH_REPEATS		15
#define BENCH_INNER		16	/* maps per timed batch, pages: 1 */
#define BENCH_MIGRATE_REPEATS	3

static const unsigned int bench_sizes_mib[] = { 4, 16, 64, 256, 1024 };
static const unsigned int bench_layouts[] = { 1, 16, 256 };
static const unsigned int bench_fanouts[] = { 1, 8, 64 };

static int bench_init(struct kunit *test)
{
	struct mock_dev *md;

	/* The ranges have gaps: VRAM spans twice its size. */
	mock_setup(test, &split_p2p_funcs, BENCH_VRAM, 2 * (size_t)BENCH_VRAM,
		   BENCH_FAKE_PHYS);
	md = test->priv;
	md->nr_ranges = 1;
	md->stride = 2;
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 median(u64 *t, unsigned int n)
{
	sort(t, n, sizeof(*t), cmp_u64, NULL);
	return t[n / 2];
}

/* What sg_alloc_table() allocates for @nents entries, chaining included. */
static size_t sgl_bytes(unsigned int nents)
{
	unsigned int left = nents, chunks = 1;

	while (left > SG_MAX_SINGLE_ALLOC) {
		left -= SG_MAX_SINGLE_ALLOC - 1;
		chunks++;
	}
	return (size_t)(nents + chunks - 1) * sizeof(struct scatterlist);
}

/*
 * The next block of a range at @off bytes into VRAM with @left bytes left:
 * @block bytes, or with @block 0 the largest a buddy allocator has there.
 */
static size_t bench_block(u64 off, size_t left, size_t block)
{
	size_t max = off ? (size_t)1 << __ffs64(off) : BENCH_SEG_MAX;

	if (block)
		return min(left, block);
	return min3(max, (size_t)rounddown_pow_of_two(left),
		    (size_t)BENCH_SEG_MAX);
}

/* The per-block exporter of amdgpu and xe, over a mock_bo in VRAM. */
struct block_peer {
	struct mock_bo *bo;
	size_t block;		/* 0: buddy blocks */
};

static int block_peer_pin(struct dma_buf_attachment *attach)
{
	struct block_peer *peer = attach->dmabuf->priv;

	ttm_bo_pin(&peer->bo->tbo);
	return 0;
}

static void block_peer_unpin(struct dma_buf_attachment *attach)
{
	struct block_peer *peer = attach->dmabuf->priv;

	ttm_bo_unpin(&peer->bo->tbo);
}

/* Walk the blocks of the resource; map them when @sg is given. */
static int block_peer_walk(struct block_peer *peer, struct device *dev,
			   enum dma_data_direction dir, struct scatterlist *sg)
{
	struct ttm_buffer_object *tbo = &peer->bo->tbo;
	struct mock_dev *md = to_mock(tbo->bdev);
	unsigned int i, n = 0;
	phys_addr_t paddr;
	size_t len, off, blk;
	dma_addr_t addr;

	for (i = 0; i < md->nr_ranges; i++) {
		mock_range(md, tbo->resource, tbo->base.size, i, &paddr, &len);
		for (off = 0; off < len; off += blk, n++) {
			blk = bench_block(paddr + off - md->vram_phys,
					  len - off, peer->block);
			if (!sg)
				continue;
			addr = dma_map_resource(dev, paddr + off, blk, dir,
						DMA_ATTR_SKIP_CPU_SYNC);
			if (dma_mapping_error(dev, addr))
				return -EIO;
			sg_set_page(sg, NULL, blk, 0);
			sg_dma_address(sg) = addr;
			sg_dma_len(sg) = blk;
			sg = sg_next(sg);
		}
	}
	return n;
}

static void block_peer_unmap(struct dma_buf_attachment *attach,
			     struct sg_table *sgt, enum dma_data_direction dir)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_sg(sgt, sg, i) {
		if (!sg_dma_len(sg))
			break;
		dma_unmap_resource(attach->dev, sg_dma_address(sg),
				   sg_dma_len(sg), dir, DMA_ATTR_SKIP_CPU_SYNC);
	}
	sg_free_table(sgt);
	kfree(sgt);
}

static struct sg_table *block_peer_map(struct dma_buf_attachment *attach,
				       enum dma_data_direction dir)
{
	struct block_peer *peer = attach->dmabuf->priv;
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct mock_bo *bo = peer->bo;
	struct sg_table *sgt;
	int ret;

	if (!bo->tbo.pin_count) {
		ret = ttm_bo_validate(&bo->tbo, &bo->placement, &ctx);
		if (ret)
			return ERR_PTR(ret);
	}
	if (bo->tbo.resource->mem_type != TTM_PL_VRAM)
		return ERR_PTR(-EINVAL);

	sgt = kmalloc_obj(*sgt);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, block_peer_walk(peer, attach->dev, dir, NULL),
			     GFP_KERNEL);
	if (ret) {
		kfree(sgt);
		return ERR_PTR(ret);
	}
	ret = block_peer_walk(peer, attach->dev, dir, sgt->sgl);
	if (ret < 0) {
		block_peer_unmap(attach, sgt, dir);
		return ERR_PTR(ret);
	}
	return sgt;
}

static void block_peer_release(struct dma_buf *dmabuf)
{
	struct block_peer *peer = dmabuf->priv;

	drm_gem_object_put(&peer->bo->tbo.base);
	kfree(peer);
}

static const struct dma_buf_ops block_peer_ops = {
	.pin = block_peer_pin,
	.unpin = block_peer_unpin,
	.map_dma_buf = block_peer_map,
	.unmap_dma_buf = block_peer_unmap,
	.release = block_peer_release,
};

static struct dma_buf *block_peer_export(struct kunit *test,
					 struct mock_bo *bo, size_t block,
					 const struct dma_buf_ops *ops)
{
	DEFINE_DMA_BUF_EXPORT_INFO(info);
	struct block_peer *peer;
	struct dma_buf *dmabuf;

	peer = kzalloc_obj(*peer);
	KUNIT_ASSERT_NOT_NULL(test, peer);
	peer->bo = bo;
	peer->block = block;
	drm_gem_object_get(&bo->tbo.base);
	info.ops = ops;
	info.size = bo->tbo.base.size;
	info.flags = O_RDWR;
	info.priv = peer;
	info.resv = bo->tbo.base.resv;
	dmabuf = dma_buf_export(&info);
	if (IS_ERR(dmabuf)) {
		drm_gem_object_put(&bo->tbo.base);
		kfree(peer);
	}
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
	return dmabuf;
}

/*
 * The floor: an exporter that maps the ranges of a buffer in VRAM and does
 * nothing else, one dma_map_phys() per range into an sg table of as many
 * entries; no validation, no bookkeeping.
 */
static struct sg_table *floor_peer_map(struct dma_buf_attachment *attach,
				       enum dma_data_direction dir)
{
	const unsigned long attrs = DMA_ATTR_MMIO | DMA_ATTR_SKIP_CPU_SYNC;
	struct block_peer *peer = attach->dmabuf->priv;
	struct ttm_buffer_object *tbo = &peer->bo->tbo;
	struct mock_dev *md = to_mock(tbo->bdev);
	struct scatterlist *sg;
	struct sg_table *sgt;
	phys_addr_t paddr;
	dma_addr_t addr;
	unsigned int i;
	size_t len;

	sgt = kmalloc_obj(*sgt);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	if (sg_alloc_table(sgt, md->nr_ranges, GFP_KERNEL)) {
		kfree(sgt);
		return ERR_PTR(-ENOMEM);
	}
	for_each_sgtable_sg(sgt, sg, i) {
		mock_range(md, tbo->resource, tbo->base.size, i, &paddr, &len);
		addr = dma_map_phys(attach->dev, paddr, len, dir, attrs);
		if (dma_mapping_error(attach->dev, addr)) {
			block_peer_unmap(attach, sgt, dir);
			return ERR_PTR(-EIO);
		}
		sg_dma_address(sg) = addr;
		sg_dma_len(sg) = len;
	}
	return sgt;
}

static const struct dma_buf_ops floor_peer_ops = {
	.pin = block_peer_pin,
	.unpin = block_peer_unpin,
	.map_dma_buf = floor_peer_map,
	.unmap_dma_buf = block_peer_unmap,
	.release = block_peer_release,
};

/* The generic PRIME exporter's driver side: a TTM buffer pinned in TT. */
static int pages_peer_pin(struct drm_gem_object *obj)
{
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct ttm_buffer_object *tbo = obj_to_tbo(obj);
	int ret;

	ret = ttm_bo_validate(tbo, &to_mock_bo(tbo)->placement, &ctx);
	if (!ret)
		ttm_bo_pin(tbo);
	return ret;
}

static void pages_peer_unpin(struct drm_gem_object *obj)
{
	ttm_bo_unpin(obj_to_tbo(obj));
}

static struct sg_table *pages_peer_get_sg_table(struct drm_gem_object *obj)
{
	struct ttm_tt *tt = obj_to_tbo(obj)->ttm;

	return drm_prime_pages_to_sg(obj->dev, tt->pages, tt->num_pages);
}

static const struct drm_gem_object_funcs pages_peer_gem_funcs = {
	.free = mock_gem_free,
	.pin = pages_peer_pin,
	.unpin = pages_peer_unpin,
	.get_sg_table = pages_peer_get_sg_table,
};

/* The paths a row compares, timed in turn batch after batch. */
enum bench_path {
	PATH_HELPER, PATH_BLOCK, PATH_BUDDY, PATH_FLOOR, PATH_BARE,
	PATH_HELPER2,	/* the helper again, for another importer: the noise */
	NR_PATHS
};

/* What one path gave: its entries, those of its table, the helper's bytes. */
struct bench_out {
	unsigned int entries;
	unsigned int orig;
	size_t bytes;
};

/*
 * One timed loop. It runs on a worker, out of the KUnit test's context:
 * there every fault point of the helper looks for a KUnit static stub, a
 * cost production code never pays (without a test running, the stub check
 * is one static branch). So no KUnit assertion may run in a job: it
 * returns an error code and the test asserts on it.
 */
struct bench_job {
	struct work_struct work;
	int (*fn)(struct bench_job *job);
	int err;
	/* in */
	struct fake_importer *imp;
	struct fake_importer *path_imp[NR_PATHS];	/* job_row() */
	struct fake_importer **imps;
	unsigned int nr_imps;
	struct mock_bo *bo;
	unsigned int repeats;
	unsigned int inner;
	/* out */
	u64 t[BENCH_REPEATS];
	u64 (*pt)[BENCH_REPEATS];	/* job_row(): NR_PATHS of them */
	struct bench_out out[NR_PATHS];
	unsigned int entries;
	u64 copied;
};

static void bench_job_fn(struct work_struct *work)
{
	struct bench_job *job = container_of(work, struct bench_job, work);

	job->err = job->fn(job);
}

static int bench_run(struct bench_job *job, int (*fn)(struct bench_job *job))
{
	job->fn = fn;
	if (!job->repeats)
		job->repeats = BENCH_REPEATS;
	if (!job->inner)
		job->inner = BENCH_INNER;
	INIT_WORK_ONSTACK(&job->work, bench_job_fn);
	queue_work(system_unbound_wq, &job->work);
	flush_work(&job->work);
	destroy_work_on_stack(&job->work);
	return job->err;
}

/*
 * An exporter: @inner maps and unmaps of @imp's attachment through dma-buf,
 * with the reservation lock held; *@ns per map and unmap.
 */
static int batch_map(struct bench_job *job, struct fake_importer *imp,
		     u64 *ns, struct bench_out *out)
{
	struct dma_buf_attachment *attach = imp->attach;
	struct dma_resv *resv = attach->dmabuf->resv;
	size_t exp_bytes, att_bytes;
	struct sg_table *sgt;
	unsigned int j;
	int ret = 0;
	u64 t0;

	dma_resv_lock(resv, NULL);
	/* Untimed: what the mapping is made of. */
	sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		dma_resv_unlock(resv);
		return PTR_ERR(sgt);
	}
	out->entries = sgt->nents;
	out->orig = sgt->orig_nents;
	if (drm_prime_p2p_is_export(attach->dmabuf))
		out->bytes = drm_prime_p2p_footprint(attach, &exp_bytes,
						     &att_bytes);
	dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);

	t0 = ktime_get_ns();
	for (j = 0; j < job->inner; j++) {
		sgt = dma_buf_map_attachment(attach, DMA_BIDIRECTIONAL);
		if (IS_ERR(sgt)) {
			ret = PTR_ERR(sgt);
			break;
		}
		dma_buf_unmap_attachment(attach, sgt, DMA_BIDIRECTIONAL);
	}
	*ns = div_u64(ktime_get_ns() - t0, job->inner);
	dma_resv_unlock(resv);
	return ret;
}

/*
 * The bare mapping: one dma_map_phys() per range of @job->bo into an sg
 * table of as many entries, for @imp's device, outside dma-buf.
 */
static int batch_bare(struct bench_job *job, struct fake_importer *imp,
		      u64 *ns, struct bench_out *out)
{
	const unsigned long attrs = DMA_ATTR_MMIO | DMA_ATTR_SKIP_CPU_SYNC;
	struct ttm_buffer_object *tbo = &job->bo->tbo;
	struct mock_dev *md = to_mock(tbo->bdev);
	struct device *dev = imp->dev;
	struct scatterlist *sg;
	struct sg_table sgt;
	unsigned int i, j;
	phys_addr_t paddr;
	dma_addr_t addr;
	int ret = 0;
	size_t len;
	u64 t0;

	dma_resv_lock(tbo->base.resv, NULL);
	t0 = ktime_get_ns();
	for (j = 0; j < job->inner && !ret; j++) {
		ret = sg_alloc_table(&sgt, md->nr_ranges, GFP_KERNEL);
		if (ret)
			break;
		for_each_sgtable_sg(&sgt, sg, i) {
			mock_range(md, tbo->resource, tbo->base.size, i,
				   &paddr, &len);
			addr = dma_map_phys(dev, paddr, len, DMA_BIDIRECTIONAL,
					    attrs);
			if (dma_mapping_error(dev, addr)) {
				ret = -EIO;
				break;
			}
			sg_dma_address(sg) = addr;
			sg_dma_len(sg) = len;
		}
		for_each_sgtable_sg(&sgt, sg, i) {
			if (!sg_dma_len(sg))
				break;
			dma_unmap_phys(dev, sg_dma_address(sg), sg_dma_len(sg),
				       DMA_BIDIRECTIONAL, attrs);
		}
		out->entries = sgt.nents;
		out->orig = sgt.orig_nents;
		sg_free_table(&sgt);
	}
	*ns = div_u64(ktime_get_ns() - t0, job->inner);
	dma_resv_unlock(tbo->base.resv);
	return ret;
}

/* One exporter, batch after batch. */
static int job_map(struct bench_job *job)
{
	unsigned int k;
	int ret = 0;

	for (k = 0; k < job->repeats && !ret; k++)
		ret = batch_map(job, job->imp, &job->t[k], &job->out[0]);
	job->entries = job->out[0].entries;
	return ret;
}

/*
 * A row: the helper, the per-block exporters, the floor and the bare
 * mapping in turn, batch after batch, so that each sees the machine as it
 * is at the time; each round starting with the next path, so that none
 * always follows the same one (behind an IOMMU, the one before fills the
 * queue of IOVAs to flush that the next may have to flush).
 */
static int job_row(struct bench_job *job)
{
	unsigned int i, k, p;
	int ret = 0;

	for (k = 0; k < job->repeats && !ret; k++)
		for (i = 0; i < NR_PATHS && !ret; i++) {
			p = (k + i) % NR_PATHS;
			ret = p == PATH_BARE ?
			      batch_bare(job, job->path_imp[p], &job->pt[p][k],
					 &job->out[p]) :
			      batch_map(job, job->path_imp[p], &job->pt[p][k],
					&job->out[p]);
		}
	return ret;
}

/* The helper, locking as the importer does around each map and unmap. */
static int job_helper(struct bench_job *job)
{
	struct sg_table *sgt;
	unsigned int k;
	u64 t0;

	for (k = 0; k < job->repeats; k++) {
		t0 = ktime_get_ns();
		sgt = imp_map(job->imp);
		if (IS_ERR(sgt))
			return PTR_ERR(sgt);
		job->entries = sgt->nents;
		imp_unmap(job->imp);
		job->t[k] = ktime_get_ns() - t0;
	}
	return 0;
}

/*
 * A non-P2P importer's first map of a buffer in VRAM, which migrates it:
 * back to VRAM (not timed), then the map, each time.
 */
static int job_first_map(struct bench_job *job)
{
	static const struct ttm_place vram_place = { .mem_type = TTM_PL_VRAM };
	struct ttm_placement to_vram = {
		.num_placement = 1, .placement = &vram_place,
	};
	struct mock_bo *bo = job->bo;
	struct mock_dev *md = to_mock(bo->tbo.bdev);
	struct ttm_operation_ctx ctx = { };
	struct sg_table *sgt;
	unsigned int k;
	u64 t0, copied;
	int ret;

	for (k = 0; k < job->repeats; k++) {
		dma_resv_lock(bo->tbo.base.resv, NULL);
		ret = ttm_bo_validate(&bo->tbo, &to_vram, &ctx);
		dma_resv_unlock(bo->tbo.base.resv);
		if (ret)
			return ret;
		copied = md->copied;
		t0 = ktime_get_ns();
		sgt = imp_map(job->imp);
		job->t[k] = ktime_get_ns() - t0;
		if (IS_ERR(sgt))
			return PTR_ERR(sgt);
		job->copied = md->copied - copied;
		imp_unmap(job->imp);
		if (bo_mem_type(bo) != TTM_PL_TT || job->copied != bo->tbo.base.size)
			return -EIO;
	}
	return 0;
}

/* One invalidation, every importer mapped before it (not timed). */
static int job_invalidate(struct bench_job *job)
{
	struct mock_bo *bo = job->bo;
	struct sg_table *sgt;
	unsigned int i, k;
	u64 t0;

	for (k = 0; k < job->repeats; k++) {
		for (i = 0; i < job->nr_imps; i++) {
			sgt = imp_map(job->imps[i]);
			if (IS_ERR(sgt))
				return PTR_ERR(sgt);
		}
		t0 = ktime_get_ns();
		dma_resv_lock(bo->tbo.base.resv, NULL);
		drm_prime_p2p_move_notify(&bo->p2p, &bo->tbo, NULL);
		dma_resv_unlock(bo->tbo.base.resv);
		job->t[k] = ktime_get_ns() - t0;
	}
	return 0;
}

struct bench_result {
	u64 ns;
	unsigned int entries;
	unsigned int orig;	/* of the sg table */
	size_t bytes;
};

static void bench(struct kunit *test, struct bench_job *job,
		  int (*fn)(struct bench_job *job), struct bench_result *r)
{
	KUNIT_ASSERT_EQ(test, bench_run(job, fn), 0);
	r->ns = median(job->t, job->repeats);
	r->entries = job->entries;
	r->orig = job->out[0].orig ?: job->entries;
	r->bytes = job->out[0].bytes;
}

/*
 * The rows of @bo, a buffer in VRAM exported as @dmabuf: the helper, the
 * per-block exporters (2 MiB blocks, buddy blocks) and the floor, timed in
 * turn for @imps[], one importer each.
 */
static void bench_row(struct kunit *test, struct mock_bo *bo,
		      struct dma_buf *dmabuf, struct fake_importer **imps,
		      struct bench_result *r)
{
	static const size_t blocks[] = {
		[PATH_BLOCK] = BENCH_BLOCK, [PATH_BUDDY] = 0, [PATH_FLOOR] = 0,
	};
	struct dma_buf *peer[NR_PATHS] = { };
	struct bench_job job = { .bo = bo };
	unsigned int p;

	job.pt = kunit_kcalloc(test, NR_PATHS, sizeof(*job.pt), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, job.pt);

	KUNIT_ASSERT_EQ(test, imp_attach(imps[PATH_HELPER], dmabuf,
					 &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_attach(imps[PATH_HELPER2], dmabuf,
					 &dynamic_p2p_ops), 0);
	for (p = PATH_BLOCK; p <= PATH_FLOOR; p++) {
		peer[p] = block_peer_export(test, bo, blocks[p],
					    p == PATH_FLOOR ? &floor_peer_ops :
							      &block_peer_ops);
		KUNIT_ASSERT_EQ(test, imp_attach(imps[p], peer[p],
						 &dynamic_p2p_ops), 0);
	}
	for (p = 0; p < NR_PATHS; p++)
		job.path_imp[p] = imps[p];
	KUNIT_ASSERT_EQ(test, bench_run(&job, job_row), 0);
	for (p = 0; p < NR_PATHS; p++) {
		r[p].ns = median(job.pt[p], job.repeats);
		r[p].entries = job.out[p].entries;
		r[p].orig = job.out[p].orig;
		r[p].bytes = p == PATH_BARE ? sgl_bytes(r[p].orig) :
			     p == PATH_HELPER || p == PATH_HELPER2 ?
			     job.out[p].bytes :
			     sizeof(struct sg_table) + sgl_bytes(r[p].orig);
	}
	for (p = 0; p <= PATH_FLOOR; p++)
		imp_detach(imps[p]);
	imp_detach(imps[PATH_HELPER2]);
	for (p = PATH_BLOCK; p <= PATH_FLOOR; p++)
		dma_buf_put(peer[p]);
}

static void bench_map(struct kunit *test)
{
	static const char * const names[NR_PATHS] = {
		"bench-helper", "bench-block", "bench-buddy", "bench-floor",
		"bench-bare", "bench-helper2",
	};
	struct mock_dev *md = test->priv;
	struct fake_importer *imps[NR_PATHS];
	struct bench_result r[NR_PATHS], pages;
	size_t exp_bytes = 0, att_bytes = 0;
	struct dma_buf *dmabuf, *peer;
	struct mock_bo *bo;
	unsigned int s, l, p;
	size_t size;
	u64 copied;

	/* With the segment boundary a PCI device gets at probe. */
	for (p = 0; p < NR_PATHS; p++) {
		imps[p] = fake_importer(test, names[p], DMA_BIT_MASK(64),
					UINT_MAX, true);
		dma_set_seg_boundary(imps[p]->dev, DMA_BIT_MASK(32));
	}
	for (s = 0; s < ARRAY_SIZE(bench_sizes_mib); s++) {
		size = (size_t)bench_sizes_mib[s] << 20;

		/* The generic PRIME exporter, for a static importer. */
		bo = mock_bo_create(test, size, TT_ONLY);
		bo->tbo.base.funcs = &pages_peer_gem_funcs;
		peer = drm_gem_prime_export(&bo->tbo.base, O_RDWR);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, peer);
		KUNIT_ASSERT_EQ(test, imp_attach(imps[0], peer, NULL), 0);
		bench(test, &(struct bench_job){ .imp = imps[0], .inner = 1 },
		      job_map, &pages);
		imp_detach(imps[0]);
		dma_buf_put(peer);
		drm_gem_object_put(&bo->tbo.base);

		for (l = 0; l < ARRAY_SIZE(bench_layouts); l++) {
			md->nr_ranges = bench_layouts[l];
			bo = mock_bo_create(test, size, VRAM_ONLY);
			dmabuf = export(test, bo);
			copied = md->copied;
			bench_row(test, bo, dmabuf, imps, r);
			KUNIT_EXPECT_EQ(test, md->copied, copied);
			KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
			if (s == ARRAY_SIZE(bench_sizes_mib) - 1) {
				/* The records of an export with 256 ranges. */
				KUNIT_ASSERT_EQ(test, imp_attach(imps[0], dmabuf,
								 &dynamic_p2p_ops), 0);
				KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(imps[0]));
				dma_resv_lock(dmabuf->resv, NULL);
				drm_prime_p2p_footprint(imps[0]->attach,
							&exp_bytes, &att_bytes);
				dma_resv_unlock(dmabuf->resv);
				imp_detach(imps[0]);
			}
			unexport(bo, dmabuf);

			KUNIT_EXPECT_EQ(test, r[PATH_HELPER].entries, md->nr_ranges);
			KUNIT_EXPECT_LE(test, r[PATH_HELPER].entries,
					r[PATH_BUDDY].entries);
			KUNIT_EXPECT_LE(test, r[PATH_BUDDY].entries,
					r[PATH_BLOCK].entries);
			KUNIT_EXPECT_EQ(test, r[PATH_FLOOR].entries, md->nr_ranges);
			KUNIT_EXPECT_EQ(test, r[PATH_BARE].entries, md->nr_ranges);
			kunit_info(test, "bench map size_mib=%u ranges=%u helper_ns=%llu helper_entries=%u helper_bytes=%zu block_ns=%llu block_entries=%u block_bytes=%zu buddy_ns=%llu buddy_entries=%u buddy_bytes=%zu pages_ns=%llu pages_entries=%u pages_bytes=%zu floor_ns=%llu floor_entries=%u floor_bytes=%zu bare_ns=%llu helper2_ns=%llu p2p_bytes_copied=%llu\n",
				   bench_sizes_mib[s], md->nr_ranges,
				   r[PATH_HELPER].ns, r[PATH_HELPER].entries,
				   r[PATH_HELPER].bytes,
				   r[PATH_BLOCK].ns, r[PATH_BLOCK].entries,
				   r[PATH_BLOCK].bytes,
				   r[PATH_BUDDY].ns, r[PATH_BUDDY].entries,
				   r[PATH_BUDDY].bytes,
				   pages.ns, pages.entries,
				   sizeof(struct sg_table) + sgl_bytes(pages.orig),
				   r[PATH_FLOOR].ns, r[PATH_FLOOR].entries,
				   r[PATH_FLOOR].bytes, r[PATH_BARE].ns,
				   r[PATH_HELPER2].ns, md->copied - copied);
		}
	}
	/* Beside what the dma-buf core allocates for every exporter. */
	kunit_info(test, "bench records ranges=%u helper_export_bytes=%zu helper_attach_bytes=%zu peer_export_bytes=0 peer_attach_bytes=0\n",
		   md->nr_ranges, exp_bytes, att_bytes);
}

/* A non-P2P importer: the first map migrates to TT, later maps do not. */
static void bench_migrate(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct bench_result first, after;
	struct bench_job job;
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned int s;
	size_t size;

	md->nr_ranges = 1;
	imp = fake_importer(test, "bench", DMA_BIT_MASK(64), UINT_MAX, false);
	for (s = 0; s < ARRAY_SIZE(bench_sizes_mib); s++) {
		size = (size_t)bench_sizes_mib[s] << 20;
		bo = mock_bo_create(test, size, VRAM_OR_TT);
		dmabuf = export(test, bo);
		KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_ops), 0);

		job = (struct bench_job){
			.imp = imp, .bo = bo, .repeats = BENCH_MIGRATE_REPEATS,
		};
		bench(test, &job, job_first_map, &first);
		KUNIT_EXPECT_EQ(test, job.copied, (u64)size);
		bench(test, &(struct bench_job){ .imp = imp }, job_helper, &after);
		KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
		kunit_info(test, "bench migrate size_mib=%u first_map_ns=%llu map_after_ns=%llu bytes_copied=%llu\n",
			   bench_sizes_mib[s], first.ns, after.ns, job.copied);
		imp_detach(imp);
		unexport(bo, dmabuf);
	}
}

/* One invalidation, told to 1, 8 and 64 dynamic importers that all unmap. */
static void bench_invalidate(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imps[64];
	struct bench_result inv;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned int f, i, n;
	char name[32];

	md->nr_ranges = 1;
	for (f = 0; f < ARRAY_SIZE(bench_fanouts); f++) {
		n = bench_fanouts[f];
		bo = mock_bo_create(test, SZ_4M, VRAM_ONLY);
		dmabuf = export(test, bo);
		for (i = 0; i < n; i++) {
			snprintf(name, sizeof(name), "inv%u-%u", n, i);
			imps[i] = fake_importer(test, name, DMA_BIT_MASK(64),
						UINT_MAX, true);
			KUNIT_ASSERT_EQ(test, imp_attach(imps[i], dmabuf,
							 &dynamic_p2p_ops), 0);
		}
		bench(test, &(struct bench_job){ .imps = imps, .nr_imps = n, .bo = bo },
		      job_invalidate, &inv);
		for (i = 0; i < n; i++) {
			KUNIT_EXPECT_EQ(test, imps[i]->invalidations, BENCH_REPEATS);
			KUNIT_EXPECT_NULL(test, imps[i]->sgt);
			imp_detach(imps[i]);
		}
		KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
		kunit_info(test, "bench invalidate importers=%u ns=%llu ns_per_importer=%llu\n",
			   n, inv.ns, div_u64(inv.ns, n));
		unexport(bo, dmabuf);
	}
}

/*
 * A driver with rules of its own: its own dma-buf callbacks around the
 * helper's (runtime PM references held from attach to detach, as amdgpu
 * and xe hold them), &dma_buf.priv the GEM object as DRM code expects, and
 * its validation and pin in place of TTM's.
 */
static struct mock_dev *dmabuf_mock(struct dma_buf *dmabuf)
{
	struct drm_gem_object *obj = dmabuf->priv;

	return container_of(obj->dev, struct mock_dev, drm);
}

static int wrapped_attach(struct dma_buf *dmabuf,
			  struct dma_buf_attachment *attach)
{
	struct mock_dev *md = dmabuf_mock(dmabuf);
	int ret;

	md->pm_refs++;
	ret = drm_prime_p2p_dmabuf_attach(dmabuf, attach);
	if (ret)
		md->pm_refs--;
	/* As amdgpu does when the device is not active. */
	else if (md->p2p_veto)
		attach->peer2peer = false;
	return ret;
}

static void wrapped_detach(struct dma_buf *dmabuf,
			   struct dma_buf_attachment *attach)
{
	drm_prime_p2p_dmabuf_detach(dmabuf, attach);
	dmabuf_mock(dmabuf)->pm_refs--;
}

static const struct dma_buf_ops wrapped_dmabuf_ops = {
	.attach = wrapped_attach,
	.detach = wrapped_detach,
	.pin = drm_prime_p2p_dmabuf_pin,
	.unpin = drm_prime_p2p_dmabuf_unpin,
	.map_dma_buf = drm_prime_p2p_dmabuf_map,
	.unmap_dma_buf = drm_prime_p2p_dmabuf_unmap,
	.release = drm_prime_p2p_dmabuf_release,
	.mmap = drm_prime_p2p_dmabuf_mmap,
	.vmap = drm_prime_p2p_dmabuf_vmap,
	.vunmap = drm_prime_p2p_dmabuf_vunmap,
	.begin_cpu_access = drm_prime_p2p_dmabuf_begin_cpu_access,
	.end_cpu_access = drm_prime_p2p_dmabuf_end_cpu_access,
};

/* No release through the helper: refused at init. */
static const struct dma_buf_ops broken_dmabuf_ops = {
	.attach = drm_prime_p2p_dmabuf_attach,
	.detach = drm_prime_p2p_dmabuf_detach,
	.pin = drm_prime_p2p_dmabuf_pin,
	.unpin = drm_prime_p2p_dmabuf_unpin,
	.map_dma_buf = drm_prime_p2p_dmabuf_map,
	.unmap_dma_buf = drm_prime_p2p_dmabuf_unmap,
};

static const struct drm_prime_p2p_funcs broken_ops_funcs = {
	.placement = mock_placement,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.dmabuf_ops = &broken_dmabuf_ops,
};

static int pin_only(struct drm_gem_object *obj)
{
	return 0;
}

static const struct drm_prime_p2p_funcs broken_pin_funcs = {
	.placement = mock_placement,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.pin = pin_only,
};

static const struct drm_prime_p2p_funcs wrapped_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.pinned_p2p = true,
	.dmabuf_ops = &wrapped_dmabuf_ops,
};

static void test_driver_dmabuf_ops(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	const struct drm_prime_p2p_funcs *funcs = md->p2p.funcs;
	struct drm_prime_p2p_device other = { };
	struct fake_importer *imp, *tiny;
	struct drm_gem_object *obj;
	struct dma_buf *dmabuf, *peer;
	struct sg_table *sgt;
	struct mock_bo *bo, *tt;

	md->p2p.funcs = &wrapped_p2p_funcs;
	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x4d);

	/* Told apart as a driver tells its own buffers apart. */
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->ops, &wrapped_dmabuf_ops);
	KUNIT_EXPECT_PTR_EQ(test, dmabuf->priv, &bo->tbo.base);
	KUNIT_EXPECT_TRUE(test, drm_prime_p2p_is_export(dmabuf));
	KUNIT_EXPECT_PTR_EQ(test, drm_prime_p2p_exported_object(dmabuf),
			    &bo->tbo.base);
	obj = drm_prime_p2p_gem_prime_import(&md->drm, dmabuf);
	KUNIT_EXPECT_PTR_EQ(test, obj, &bo->tbo.base);
	if (!IS_ERR(obj))
		drm_gem_object_put(obj);

	/* The wrappers around attach and detach, balanced also on failure. */
	imp = fake_importer(test, "imp", DMA_BIT_MASK(64), SZ_64K, true);
	tiny = fake_importer(test, "tiny", DMA_BIT_MASK(64), SZ_2K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_EXPECT_EQ(test, md->pm_refs, 1);
	KUNIT_EXPECT_EQ(test, imp_attach(tiny, dmabuf, &dynamic_p2p_ops), -EINVAL);
	KUNIT_EXPECT_EQ(test, md->pm_refs, 1);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_RESOURCE);
	expect_contents(test, imp, sgt, SZ_256K, 0x4d);
	imp_detach(imp);
	KUNIT_EXPECT_EQ(test, md->pm_refs, 0);
	unexport(bo, dmabuf);

	/* A veto of peer-to-peer after the helper's attach holds. */
	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x4e);
	md->p2p_veto = true;
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	md->p2p_veto = false;
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	expect_contents(test, imp, sgt, SZ_256K, 0x4e);
	imp_detach(imp);
	unexport(bo, dmabuf);

	/* Callbacks the helper needs, and a pin without an unpin, refused. */
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_device_init(&other, &md->drm,
							&broken_ops_funcs),
			-EINVAL);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_device_init(&other, &md->drm,
							&broken_pin_funcs),
			-EINVAL);

	/* Another exporter's dma-buf is not taken for one. */
	tt = mock_bo_create(test, SZ_256K, TT_ONLY);
	tt->tbo.base.funcs = &pages_peer_gem_funcs;
	peer = drm_gem_prime_export(&tt->tbo.base, O_RDWR);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, peer);
	KUNIT_EXPECT_FALSE(test, drm_prime_p2p_is_export(peer));
	KUNIT_EXPECT_NULL(test, drm_prime_p2p_exported_object(peer));
	dma_buf_put(peer);
	drm_gem_object_put(&tt->tbo.base);
	md->p2p.funcs = funcs;
}

static int hooked_validate(struct drm_gem_object *obj,
			   struct ttm_placement *placement,
			   struct ttm_operation_ctx *ctx)
{
	struct mock_dev *md = container_of(obj->dev, struct mock_dev, drm);
	const struct ttm_place anywhere = { .mem_type = TTM_PL_VRAM };
	struct ttm_placement pl = { .num_placement = 1, .placement = &anywhere };
	unsigned int i;

	md->validates++;
	md->validate_types = 0;
	md->validate_lpfn = ~0ul;
	for (i = 0; i < placement->num_placement; i++) {
		const struct ttm_place *place = &placement->placement[i];

		md->validate_types |= BIT(place->mem_type);
		if (place->mem_type == TTM_PL_VRAM)
			md->validate_lpfn = place->lpfn;
	}
	/* A driver that places as it likes: VRAM anywhere. */
	if (md->validate_anywhere)
		return ttm_bo_validate(obj_to_tbo(obj), &pl, ctx);
	return ttm_bo_validate(obj_to_tbo(obj), placement, ctx);
}

static int hooked_pin(struct drm_gem_object *obj)
{
	struct mock_dev *md = container_of(obj->dev, struct mock_dev, drm);

	if (md->pin_fail)
		return md->pin_fail;
	if (md->pin_moves) {
		struct ttm_operation_ctx ctx = { };
		struct ttm_placement tt = { .num_placement = 1,
					    .placement = &tt_place };
		int ret = ttm_bo_validate(obj_to_tbo(obj), &tt, &ctx);

		if (ret)
			return ret;
	}
	md->hook_pins++;
	ttm_bo_pin(obj_to_tbo(obj));
	return 0;
}

static void hooked_unpin(struct drm_gem_object *obj)
{
	struct mock_dev *md = container_of(obj->dev, struct mock_dev, drm);

	md->hook_unpins++;
	ttm_bo_unpin(obj_to_tbo(obj));
}

static const struct drm_prime_p2p_funcs hooked_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.pinned_p2p = true,
	.validate = hooked_validate,
	.pin = hooked_pin,
	.unpin = hooked_unpin,
};

/*
 * The driver's validation and pin: a static importer that cannot reach
 * VRAM gets the buffer validated by the driver into system memory only,
 * then pinned by the driver; its unmap unpins through the driver; a pin
 * the driver refuses fails the importer's pin with its error and leaves
 * nothing pinned; vmap pins through the driver; a pin an importer leaves
 * at detach is undone through the driver.
 */
static void test_driver_hooks(struct kunit *test)
{
	struct ttm_placement vram = { .num_placement = 1,
				      .placement = &vram_only };
	struct ttm_operation_ctx ctx = { };
	struct mock_dev *md = test->priv;
	const struct drm_prime_p2p_funcs *funcs = md->p2p.funcs;
	struct fake_importer *stat, *dyn;
	struct dma_buf *dmabuf;
	struct iosys_map map;
	struct sg_table *sgt;
	struct mock_bo *bo;

	md->p2p.funcs = &hooked_p2p_funcs;
	bo = mock_bo_create(test, SZ_256K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x6e);
	KUNIT_EXPECT_EQ(test, md->hook_pins, md->hook_unpins);
	md->hook_pins = 0;
	md->hook_unpins = 0;

	stat = fake_importer(test, "static", DMA_BIT_MASK(64), SZ_64K, false);
	KUNIT_ASSERT_EQ(test, imp_attach(stat, dmabuf, NULL), 0);
	sgt = imp_map(stat);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, md->validates, 1);
	KUNIT_EXPECT_EQ(test, md->validate_types, BIT(TTM_PL_TT));
	KUNIT_EXPECT_EQ(test, md->hook_pins, 1);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 1);
	expect_contents(test, stat, sgt, SZ_256K, 0x6e);
	imp_unmap(stat);
	KUNIT_EXPECT_EQ(test, md->hook_unpins, 1);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	imp_detach(stat);

	/* A map of a buffer where the importer may have it validates nothing. */
	dyn = fake_importer(test, "dyn", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(dyn, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(dyn));
	imp_unmap(dyn);
	KUNIT_EXPECT_EQ(test, md->validates, 1);

	/* Refused by the driver. */
	md->pin_fail = -ENOSPC;
	KUNIT_EXPECT_EQ(test, imp_pin(dyn), -ENOSPC);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	/* dma_buf_vmap() warns (once) when the exporter's vmap fails. */
	kunit_warning_suppress(test) {
		dma_resv_lock(dmabuf->resv, NULL);
		KUNIT_EXPECT_EQ(test, dma_buf_vmap(dmabuf, &map), -ENOSPC);
		dma_resv_unlock(dmabuf->resv);
	}
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	md->pin_fail = 0;

	/* vmap pins through the driver. */
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, dma_buf_vmap(dmabuf, &map), 0);
	KUNIT_EXPECT_EQ(test, md->hook_pins, 2);
	dma_buf_vunmap(dmabuf, &map);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, md->hook_unpins, 2);

	/*
	 * A driver's pin that moves the buffer (from VRAM, where the helper
	 * placed it for this importer, to TT) is undone: the importers were
	 * checked against VRAM.
	 */
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&bo->tbo, &vram, &ctx), 0);
	dma_resv_unlock(dmabuf->resv);
	md->pin_moves = true;
	kunit_warning_suppress(test) {
		KUNIT_EXPECT_EQ(test, imp_pin(dyn), -EBUSY);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	md->pin_moves = false;
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	KUNIT_EXPECT_EQ(test, md->hook_pins, 3);
	KUNIT_EXPECT_EQ(test, md->hook_unpins, 3);

	/* A pin left at detach. */
	KUNIT_EXPECT_EQ(test, imp_pin(dyn), 0);
	KUNIT_EXPECT_EQ(test, md->hook_pins, 4);
	kunit_warning_suppress(test) {
		imp_detach(dyn);
		KUNIT_EXPECT_SUPPRESSED_WARNING_COUNT(test, 1);
	}
	KUNIT_EXPECT_EQ(test, md->hook_unpins, 4);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	unexport(bo, dmabuf);
	md->p2p.funcs = funcs;
}

/*
 * A small BAR: peers reach the first WINDOW of VRAM's 2 MiB. The driver's
 * validation is counted (hooked_validate()), its pin is TTM's.
 */
#define WINDOW		SZ_1M
#define WINDOW_PAGES	(WINDOW >> PAGE_SHIFT)

static const struct drm_prime_p2p_funcs window_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.pinned_p2p = true,
	.validate = hooked_validate,
};

static void window_setup(struct kunit *test)
{
	struct mock_dev *md = test->priv;

	md->p2p.funcs = &window_p2p_funcs;
	KUNIT_ASSERT_EQ(test, drm_prime_p2p_set_peer_window(&md->p2p,
							    TTM_PL_VRAM,
							    WINDOW), 0);
}

/* Put @bo in VRAM at or beyond @fpfn, or below @lpfn, and pin it if @pin. */
static void place_at(struct kunit *test, struct mock_bo *bo,
		     unsigned long fpfn, unsigned long lpfn, bool pin)
{
	struct ttm_place place = { .mem_type = TTM_PL_VRAM, .fpfn = fpfn,
				   .lpfn = lpfn };
	struct ttm_placement pl = { .num_placement = 1, .placement = &place };
	struct ttm_operation_ctx ctx = { };
	int ret;

	dma_resv_lock(bo->tbo.base.resv, NULL);
	ret = ttm_bo_validate(&bo->tbo, &pl, &ctx);
	if (!ret && pin)
		ttm_bo_pin(&bo->tbo);
	dma_resv_unlock(bo->tbo.base.resv);
	KUNIT_ASSERT_EQ(test, ret, 0);
}

static unsigned long bo_start(struct mock_bo *bo)
{
	unsigned long start;

	dma_resv_lock(bo->tbo.base.resv, NULL);
	start = bo->tbo.resource->start;
	dma_resv_unlock(bo->tbo.base.resv);
	return start;
}

/* Every DMA address of @sgt is in the first @bytes of VRAM. */
static void expect_in_vram(struct kunit *test, struct fake_importer *imp,
			   struct sg_table *sgt, size_t bytes)
{
	struct mock_dev *md = test->priv;
	struct scatterlist *sg;
	unsigned int i, out = 0;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		phys_addr_t phys = dma_to_phys(imp->dev, sg_dma_address(sg));

		if (phys < md->vram_phys ||
		    phys + sg_dma_len(sg) > md->vram_phys + bytes)
			out++;
	}
	KUNIT_EXPECT_EQ_MSG(test, out, 0, "entries beyond the first %zu bytes of VRAM",
			    bytes);
}

/*
 * A buffer beyond the window moves into it for a peer, with its content;
 * the driver validates with the window's lpfn; a buffer in the window
 * stays without validation. A peer's pin places within the window too,
 * evicting what is there when the buffer may only be in VRAM (with room
 * elsewhere, TTM prefers that to evicting). Bad windows are refused.
 */
static void test_window_migrates_in(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp, *pinner;
	struct dma_buf *dmabuf, *dmabuf2;
	struct mock_bo *hog, *bo, *bo2;
	struct sg_table *sgt;
	u64 copied;

	KUNIT_EXPECT_EQ(test, drm_prime_p2p_set_peer_window(&md->p2p,
							    TTM_NUM_MEM_TYPES,
							    WINDOW), -EINVAL);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_set_peer_window(&md->p2p,
							    TTM_PL_VRAM,
							    WINDOW + 1), -EINVAL);
	window_setup(test);

	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	place_at(test, bo, WINDOW_PAGES, 0, false);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x5b);

	/* Set before the first export, or not at all. */
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_set_peer_window(&md->p2p,
							    TTM_PL_VRAM,
							    WINDOW), -EBUSY);
	imp = fake_importer(test, "peer", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_EXPECT_TRUE(test, imp->attach->peer2peer);
	md->validates = 0;
	copied = md->copied;
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, md->validates, 1);
	KUNIT_EXPECT_EQ(test, md->validate_lpfn, WINDOW_PAGES);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_RESOURCE);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	KUNIT_EXPECT_LE(test, bo_start(bo) + (SZ_512K >> PAGE_SHIFT),
			WINDOW_PAGES);
	KUNIT_EXPECT_EQ(test, md->copied, copied + SZ_512K);
	expect_in_vram(test, imp, sgt, WINDOW);
	expect_contents(test, imp, sgt, SZ_512K, 0x5b);
	imp_unmap(imp);

	/* Within the window: mapped where it is. */
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, md->validates, 1);
	expect_contents(test, imp, sgt, SZ_512K, 0x5b);
	imp_detach(imp);

	/* The rest of the window taken, by a buffer that can go. */
	hog = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	place_at(test, hog, 0, WINDOW_PAGES, false);

	/* A peer that pins a buffer that may only be in VRAM. */
	bo2 = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	place_at(test, bo2, WINDOW_PAGES, 0, false);
	dmabuf2 = export(test, bo2);
	fill(test, dmabuf2, 0x71);
	pinner = fake_importer(test, "pinner", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(pinner, dmabuf2, &pinned_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_pin(pinner), 0);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo2), TTM_PL_VRAM);
	KUNIT_EXPECT_LE(test, bo_start(bo2) + (SZ_256K >> PAGE_SHIFT),
			WINDOW_PAGES);
	/* Room was made in the window: one of the two went to TT. */
	KUNIT_EXPECT_TRUE(test, bo_mem_type(bo) == TTM_PL_TT ||
			  bo_mem_type(hog) == TTM_PL_TT);
	sgt = imp_map(pinner);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	expect_in_vram(test, pinner, sgt, WINDOW);
	expect_contents(test, pinner, sgt, SZ_256K, 0x71);
	imp_unmap(pinner);
	imp_unpin(pinner);
	imp_detach(pinner);
	unexport(bo2, dmabuf2);
	unexport(bo, dmabuf);
	drm_gem_object_put(&hog->tbo.base);
}

/*
 * A buffer larger than the window: a peer gets it in system memory, or is
 * refused at attach when it may only be in VRAM.
 */
static void test_window_too_big(struct kunit *test)
{
	struct fake_importer *imp, *vram_imp;
	struct dma_buf *dmabuf, *vram_dmabuf;
	struct mock_bo *bo, *vram_bo;
	struct sg_table *sgt;

	window_setup(test);
	bo = mock_bo_create(test, WINDOW + SZ_512K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x2d);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	imp = fake_importer(test, "peer", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_EXPECT_FALSE(test, imp->attach->peer2peer);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	expect_contents(test, imp, sgt, WINDOW + SZ_512K, 0x2d);
	imp_detach(imp);
	unexport(bo, dmabuf);

	vram_bo = mock_bo_create(test, WINDOW + SZ_512K, VRAM_ONLY);
	vram_dmabuf = export(test, vram_bo);
	vram_imp = fake_importer(test, "peer2", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_EXPECT_EQ(test, imp_attach(vram_imp, vram_dmabuf,
					 &dynamic_p2p_ops), -EOPNOTSUPP);
	unexport(vram_bo, vram_dmabuf);
}

/*
 * A buffer pinned beyond the window (scanout, a kernel mapping) cannot be
 * had by a peer: its attach, map and pin fail with -EBUSY. Unpinned, it
 * moves into the window at the next map.
 */
static void test_window_pinned_beyond(struct kunit *test)
{
	struct fake_importer *early, *late;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;

	window_setup(test);
	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x48);
	early = fake_importer(test, "early", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(early, dmabuf, &dynamic_p2p_ops), 0);
	place_at(test, bo, WINDOW_PAGES, 0, true);

	KUNIT_EXPECT_PTR_EQ(test, imp_map(early), ERR_PTR(-EBUSY));
	KUNIT_EXPECT_EQ(test, imp_pin(early), -EBUSY);
	late = fake_importer(test, "late", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_EXPECT_EQ(test, imp_attach(late, dmabuf, &dynamic_p2p_ops),
			-EBUSY);
	KUNIT_EXPECT_GE(test, bo_start(bo), WINDOW_PAGES);

	dma_resv_lock(dmabuf->resv, NULL);
	ttm_bo_unpin(&bo->tbo);
	dma_resv_unlock(dmabuf->resv);
	sgt = imp_map(early);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	expect_in_vram(test, early, sgt, WINDOW);
	expect_contents(test, early, sgt, SZ_512K, 0x48);
	imp_detach(early);
	unexport(bo, dmabuf);
}

/*
 * The window full of pinned buffers: a peer gets a buffer that may leave
 * VRAM in system memory, and a clean error for one that may not, which
 * stays where it was, content and all.
 */
static void test_window_full(struct kunit *test)
{
	struct fake_importer *imp, *vram_imp;
	struct dma_buf *dmabuf, *vram_dmabuf;
	struct mock_bo *hog, *bo, *vram_bo;
	struct sg_table *sgt;

	window_setup(test);
	hog = mock_bo_create(test, WINDOW, VRAM_OR_TT);
	place_at(test, hog, 0, WINDOW_PAGES, true);

	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	place_at(test, bo, WINDOW_PAGES, 0, false);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x93);
	imp = fake_importer(test, "peer", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_PAGES);
	expect_contents(test, imp, sgt, SZ_512K, 0x93);
	imp_detach(imp);
	unexport(bo, dmabuf);

	vram_bo = mock_bo_create(test, SZ_512K, VRAM_ONLY);
	place_at(test, vram_bo, WINDOW_PAGES, 0, false);
	vram_dmabuf = export(test, vram_bo);
	fill(test, vram_dmabuf, 0x17);
	vram_imp = fake_importer(test, "peer2", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(vram_imp, vram_dmabuf,
					 &dynamic_p2p_ops), 0);
	/* TTM's word for no room after eviction. */
	KUNIT_EXPECT_PTR_EQ(test, imp_map(vram_imp), ERR_PTR(-ENOMEM));
	KUNIT_EXPECT_EQ(test, bo_mem_type(vram_bo), TTM_PL_VRAM);
	KUNIT_EXPECT_GE(test, bo_start(vram_bo), WINDOW_PAGES);

	/* Room again: mapped within the window, with its content. */
	dma_resv_lock(hog->tbo.base.resv, NULL);
	ttm_bo_unpin(&hog->tbo);
	dma_resv_unlock(hog->tbo.base.resv);
	sgt = imp_map(vram_imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	expect_in_vram(test, vram_imp, sgt, WINDOW);
	expect_contents(test, vram_imp, sgt, SZ_512K, 0x17);
	imp_detach(vram_imp);
	unexport(vram_bo, vram_dmabuf);
	drm_gem_object_put(&hog->tbo.base);
}

/*
 * A driver's validation that leaves the buffer beyond the window (it drops
 * the page range, as a manager without compatible() would have TTM keep
 * it there): the peer's map and pin fail with -ENOSPC instead of handing
 * out memory beyond the BAR, and nothing stays pinned.
 */
static void test_window_recheck(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *dyn, *pinner;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;

	window_setup(test);
	bo = mock_bo_create(test, SZ_512K, VRAM_ONLY);
	place_at(test, bo, WINDOW_PAGES, 0, false);
	dmabuf = export(test, bo);
	dyn = fake_importer(test, "dyn", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(dyn, dmabuf, &dynamic_p2p_ops), 0);
	pinner = fake_importer(test, "pinner", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(pinner, dmabuf, &pinned_p2p_ops), 0);

	md->validate_anywhere = true;
	KUNIT_EXPECT_PTR_EQ(test, imp_map(dyn), ERR_PTR(-ENOSPC));
	KUNIT_EXPECT_EQ(test, imp_pin(pinner), -ENOSPC);
	KUNIT_EXPECT_EQ(test, bo->tbo.pin_count, 0);
	KUNIT_EXPECT_GE(test, bo_start(bo), WINDOW_PAGES);
	md->validate_anywhere = false;

	/* Placed as the helper asks: within the window. */
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, imp_map(dyn));
	KUNIT_EXPECT_LE(test, bo_start(bo) + (SZ_512K >> PAGE_SHIFT),
			WINDOW_PAGES);
	imp_detach(dyn);
	imp_detach(pinner);
	unexport(bo, dmabuf);
}

/*
 * A private link (amdgpu's XGMI): the driver says which importers reach
 * VRAM over it and maps for them itself, here with dma_map_phys(), as the
 * helper would, counting its calls.
 */
static bool private_reach(struct drm_gem_object *obj, u32 mem_type,
			  struct dma_buf_attachment *attach)
{
	struct fake_importer *imp = attach->importer_priv;

	return imp && imp->xgmi;
}

static struct sg_table *private_map_ranges(struct dma_buf_attachment *attach,
					   const struct phys_vec *ranges,
					   unsigned int nr,
					   enum dma_data_direction dir)
{
	struct drm_gem_object *obj = drm_prime_p2p_exported_object(attach->dmabuf);
	struct mock_dev *md = container_of(obj->dev, struct mock_dev, drm);
	struct scatterlist *sg;
	struct sg_table *sgt;
	unsigned int i;
	int ret;

	sgt = kzalloc_obj(*sgt);
	if (!sgt)
		return ERR_PTR(-ENOMEM);
	ret = sg_alloc_table(sgt, nr, GFP_KERNEL);
	if (ret) {
		kfree(sgt);
		return ERR_PTR(ret);
	}
	for_each_sgtable_sg(sgt, sg, i) {
		dma_addr_t addr = dma_map_phys(attach->dev, ranges[i].paddr,
					       ranges[i].len, dir, 0);

		if (dma_mapping_error(attach->dev, addr)) {
			sgt->nents = i;
			ret = -EIO;
			break;
		}
		sg_dma_address(sg) = addr;
		sg_dma_len(sg) = ranges[i].len;
	}
	if (ret) {
		for_each_sgtable_dma_sg(sgt, sg, i)
			dma_unmap_phys(attach->dev, sg_dma_address(sg),
				       sg_dma_len(sg), dir, 0);
		sg_free_table(sgt);
		kfree(sgt);
		return ERR_PTR(ret);
	}
	md->driver_maps++;
	return sgt;
}

static void private_unmap_ranges(struct dma_buf_attachment *attach,
				 struct sg_table *sgt,
				 enum dma_data_direction dir)
{
	struct scatterlist *sg;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i)
		dma_unmap_phys(attach->dev, sg_dma_address(sg), sg_dma_len(sg),
			       dir, 0);
	sg_free_table(sgt);
	kfree(sgt);
}

static const struct drm_prime_p2p_funcs private_p2p_funcs = {
	.placement = mock_placement,
	.reachable = mock_reachable,
	.private_reach = private_reach,
	.resource_ranges = drm_prime_p2p_contiguous_ranges,
	.map_ranges = private_map_ranges,
	.unmap_ranges = private_unmap_ranges,
	.pinned_p2p = true,
};

/*
 * An importer over a private link reaches all of VRAM, window or not: a
 * buffer beyond the window stays there and the driver maps it; one larger
 * than the window, or pinned beyond it, is still its to have, where a peer
 * through the BAR gets -EOPNOTSUPP or -EBUSY. A BAR peer's map still moves
 * a buffer into the window, and a pin for both places it there. Without
 * map_ranges the private peer gets no mapping (-EOPNOTSUPP), as amdgpu's
 * XGMI importers get none.
 */
static void test_window_private(struct kunit *test)
{
	static const struct drm_prime_p2p_funcs no_map = {
		.placement = mock_placement,
		.private_reach = private_reach,
		.resource_ranges = drm_prime_p2p_contiguous_ranges,
	};
	struct mock_dev *md = test->priv;
	struct fake_importer *xgmi, *bar, *big_xgmi, *big_bar;
	struct dma_buf *dmabuf, *big_dmabuf;
	struct mock_bo *bo, *big;
	struct sg_table *sgt;

	md->p2p.funcs = &private_p2p_funcs;
	KUNIT_ASSERT_EQ(test, drm_prime_p2p_set_peer_window(&md->p2p,
							    TTM_PL_VRAM,
							    WINDOW), 0);
	bo = mock_bo_create(test, SZ_512K, VRAM_OR_TT);
	place_at(test, bo, WINDOW_PAGES, 0, false);
	dmabuf = export(test, bo);
	fill(test, dmabuf, 0x6a);

	/* The mock driver maps each range as one entry. */
	xgmi = fake_importer(test, "xgmi", DMA_BIT_MASK(64), SZ_2M, false);
	xgmi->xgmi = true;
	KUNIT_ASSERT_EQ(test, imp_attach(xgmi, dmabuf, &dynamic_p2p_ops), 0);
	KUNIT_EXPECT_TRUE(test, xgmi->attach->peer2peer);
	sgt = imp_map(xgmi);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(xgmi), DRM_PRIME_P2P_MAP_DRIVER);
	KUNIT_EXPECT_EQ(test, md->driver_maps, 1);
	KUNIT_EXPECT_GE(test, bo_start(bo), WINDOW_PAGES);
	expect_contents(test, xgmi, sgt, SZ_512K, 0x6a);
	imp_unmap(xgmi);

	/* Pinned beyond the window: the private peer attaches and maps. */
	dma_resv_lock(dmabuf->resv, NULL);
	ttm_bo_pin(&bo->tbo);
	dma_resv_unlock(dmabuf->resv);
	bar = fake_importer(test, "bar", DMA_BIT_MASK(64), SZ_2M, true);
	KUNIT_EXPECT_EQ(test, imp_attach(bar, dmabuf, &dynamic_p2p_ops), -EBUSY);
	sgt = imp_map(xgmi);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	expect_contents(test, xgmi, sgt, SZ_512K, 0x6a);
	imp_unmap(xgmi);
	dma_resv_lock(dmabuf->resv, NULL);
	ttm_bo_unpin(&bo->tbo);
	dma_resv_unlock(dmabuf->resv);

	/* A pin for both goes within the window. */
	KUNIT_ASSERT_EQ(test, imp_attach(bar, dmabuf, &pinned_p2p_ops), 0);
	KUNIT_ASSERT_EQ(test, imp_pin(bar), 0);
	KUNIT_EXPECT_EQ(test, bo_mem_type(bo), TTM_PL_VRAM);
	KUNIT_EXPECT_LE(test, bo_start(bo) + (SZ_512K >> PAGE_SHIFT),
			WINDOW_PAGES);
	/* The mock has no PCI provider: its driver maps all VRAM. */
	sgt = imp_map(bar);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(bar), DRM_PRIME_P2P_MAP_DRIVER);
	KUNIT_EXPECT_EQ(test, md->driver_maps, 3);
	expect_in_vram(test, bar, sgt, WINDOW);
	expect_contents(test, bar, sgt, SZ_512K, 0x6a);
	sgt = imp_map(xgmi);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(xgmi), DRM_PRIME_P2P_MAP_DRIVER);
	expect_contents(test, xgmi, sgt, SZ_512K, 0x6a);
	imp_unmap(bar);
	imp_unpin(bar);
	imp_detach(bar);
	imp_detach(xgmi);
	unexport(bo, dmabuf);

	/* Larger than the window: the private peer's, not the BAR peer's. */
	big = mock_bo_create(test, WINDOW + SZ_512K, VRAM_ONLY);
	big_dmabuf = export(test, big);
	fill(test, big_dmabuf, 0x1f);
	big_bar = fake_importer(test, "big_bar", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_EXPECT_EQ(test, imp_attach(big_bar, big_dmabuf, &dynamic_p2p_ops),
			-EOPNOTSUPP);
	big_xgmi = fake_importer(test, "big_xgmi", DMA_BIT_MASK(64), SZ_2M,
				 false);
	big_xgmi->xgmi = true;
	KUNIT_ASSERT_EQ(test, imp_attach(big_xgmi, big_dmabuf,
					 &dynamic_p2p_ops), 0);
	sgt = imp_map(big_xgmi);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(big_xgmi), DRM_PRIME_P2P_MAP_DRIVER);
	expect_contents(test, big_xgmi, sgt, WINDOW + SZ_512K, 0x1f);
	imp_detach(big_xgmi);

	/*
	 * A driver without map_ranges: the private peer's map is refused, its
	 * pin keeps the buffer beyond the window.
	 */
	md->p2p.funcs = &no_map;
	big_xgmi = fake_importer(test, "nomap_xgmi", DMA_BIT_MASK(64), SZ_2M,
				 false);
	big_xgmi->xgmi = true;
	KUNIT_ASSERT_EQ(test, imp_attach(big_xgmi, big_dmabuf,
					 &dynamic_p2p_ops), 0);
	KUNIT_EXPECT_PTR_EQ(test, imp_map(big_xgmi), ERR_PTR(-EOPNOTSUPP));
	KUNIT_EXPECT_EQ(test, imp_pin(big_xgmi), 0);
	KUNIT_EXPECT_EQ(test, bo_mem_type(big), TTM_PL_VRAM);
	imp_unpin(big_xgmi);
	imp_detach(big_xgmi);
	unexport(big, big_dmabuf);
	md->p2p.funcs = &mock_p2p_funcs;
}

/* Runs of adjacent DMA addresses in @sgt: the IOVA ranges it spans. */
static unsigned int dma_runs(struct sg_table *sgt)
{
	dma_addr_t end = DMA_MAPPING_ERROR;
	struct scatterlist *sg;
	unsigned int i, runs = 0;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		runs += sg_dma_address(sg) != end;
		end = sg_dma_address(sg) + sg_dma_len(sg);
	}
	return runs;
}

/* Map once, untimed: the IOVA ranges, and every range where it belongs. */
static unsigned int iommu_check(struct kunit *test, struct fake_importer *imp,
				struct mock_bo *bo)
{
	struct iommu_domain *domain = iommu_get_domain_for_dev(imp->dev);
	struct mock_dev *md = test->priv;
	struct ttm_resource *res = bo->tbo.resource;
	size_t len, off = 0, at = 0, piece;
	unsigned int i = 0, j, runs, bad = 0;
	struct scatterlist *sg;
	struct sg_table *sgt;
	phys_addr_t paddr;
	dma_addr_t first;

	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	piece = bo->tbo.base.size / md->nr_ranges;
	/* The first byte of each range, at its offset into the buffer. */
	for_each_sgtable_dma_sg(sgt, sg, j) {
		for (; i < md->nr_ranges && (size_t)i * piece < off + sg_dma_len(sg); i++) {
			at = (size_t)i * piece - off;
			mock_range(md, res, bo->tbo.base.size, i, &paddr, &len);
			if (iommu_iova_to_phys(domain, sg_dma_address(sg) + at) != paddr)
				bad++;
			/* The last byte, where the range lies in this entry. */
			if (at + len <= sg_dma_len(sg) &&
			    iommu_iova_to_phys(domain, sg_dma_address(sg) + at +
					       len - 1) != paddr + len - 1)
				bad++;
		}
		off += sg_dma_len(sg);
	}
	KUNIT_EXPECT_EQ(test, i, md->nr_ranges);
	KUNIT_EXPECT_EQ_MSG(test, bad, 0, "ranges the IOMMU maps elsewhere");
	runs = dma_runs(sgt);
	first = sg_dma_address(sgt->sgl);
	imp_unmap(imp);
	/* Unmapped: the IOMMU translates the IOVA no more. */
	KUNIT_EXPECT_EQ(test, iommu_iova_to_phys(domain, first), 0);
	return runs;
}

#define EDU_VENDOR	0x1234
#define EDU_DEVICE	0x11e8

/*
 * QEMU's edu device, behind an IOMMU that translates its DMA, with no
 * driver bound (the guest loads its driver, tests/kmod/edu_p2p.c, after
 * KUnit ran at boot); the test is skipped otherwise. Nothing makes it do DMA: the
 * test only maps for it. Its DMA limits are set as its driver sets them
 * at probe, and given back at the end of the test: a 32-bit mask would
 * leave 16 buffers of 256 MiB of IOVA space, which unmaps give back only
 * when the IOMMU's flush queue is flushed.
 */
struct edu_dma_limits {
	struct pci_dev *edu;
	u64 mask, coherent_mask;
	unsigned int max_seg;
};

static void edu_restore(void *data)
{
	struct edu_dma_limits *old = data;

	dma_set_max_seg_size(&old->edu->dev, old->max_seg);
	dma_set_mask(&old->edu->dev, old->mask);
	dma_set_coherent_mask(&old->edu->dev, old->coherent_mask);
	pci_dev_put(old->edu);
}

static struct pci_dev *edu_behind_iommu(struct kunit *test)
{
	struct pci_dev *edu = pci_get_device(EDU_VENDOR, EDU_DEVICE, NULL);
	struct edu_dma_limits *old;

	if (!edu)
		kunit_skip(test, "no edu device");
	old = kunit_kzalloc(test, sizeof(*old), GFP_KERNEL);
	if (!old) {
		pci_dev_put(edu);
		kunit_skip(test, "no memory");
	}
	old->edu = edu;
	old->mask = dma_get_mask(&edu->dev);
	old->coherent_mask = edu->dev.coherent_dma_mask;
	old->max_seg = dma_get_max_seg_size(&edu->dev);
	if (kunit_add_action_or_reset(test, edu_restore, old))
		kunit_skip(test, "no memory");
	if (edu->dev.driver)
		kunit_skip(test, "edu has a driver");
	if (!dma_get_merge_boundary(&edu->dev))
		kunit_skip(test, "edu's DMA is not translated by an IOMMU");
	dma_set_max_seg_size(&edu->dev, UINT_MAX);
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(&edu->dev,
							DMA_BIT_MASK(64)), 0);
	return edu;
}

/* An importer with @edu's device: its DMA limits, the device's own. */
static struct fake_importer *edu_importer(struct kunit *test,
					  struct pci_dev *edu)
{
	struct fake_importer *imp = kunit_kzalloc(test, sizeof(*imp),
						  GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, imp);
	imp->dev = &edu->dev;
	imp->mask = dma_get_mask(&edu->dev);
	imp->reach = true;
	return imp;
}

/*
 * The IOMMU rows: QEMU's edu device behind the guest's IOMMU imports a
 * 256 MiB VRAM buffer in 1, 16 and 256 ranges, through the helper (its
 * ranges linked into one IOVA range) and through the per-block exporter
 * (an IOVA per block). scripts/bench boots a guest with edu behind an
 * IOMMU for it (tests/topologies/iommu.args); elsewhere it is skipped.
 */
static void bench_iommu(struct kunit *test)
{
	static const size_t blocks[] = {
		[PATH_BLOCK] = BENCH_BLOCK, [PATH_BUDDY] = 0,
	};
	struct mock_dev *md = test->priv;
	struct fake_importer *imps[NR_PATHS];
	struct bench_result r[NR_PATHS];
	unsigned int l, p, iovas[NR_PATHS] = { };
	struct dma_buf *dmabuf, *peer;
	const size_t size = SZ_256M;
	struct pci_dev *edu;
	struct mock_bo *bo;

	edu = edu_behind_iommu(test);
	for (p = 0; p < NR_PATHS; p++)
		imps[p] = edu_importer(test, edu);
	md->vram_phys = BENCH_IOMMU_PHYS;

	for (l = 0; l < ARRAY_SIZE(bench_layouts); l++) {
		md->nr_ranges = bench_layouts[l];
		bo = mock_bo_create(test, size, VRAM_ONLY);
		dmabuf = export(test, bo);

		/* Untimed: where each exporter's mapping goes. */
		for (p = 0; p <= PATH_BUDDY; p++) {
			peer = p == PATH_HELPER ? dmabuf :
			       block_peer_export(test, bo, blocks[p],
						 &block_peer_ops);
			KUNIT_ASSERT_EQ(test, imp_attach(imps[p], peer,
							 &dynamic_p2p_ops), 0);
			iovas[p] = iommu_check(test, imps[p], bo);
			imp_detach(imps[p]);
			if (peer != dmabuf)
				dma_buf_put(peer);
		}
		bench_row(test, bo, dmabuf, imps, r);
		unexport(bo, dmabuf);

		KUNIT_EXPECT_EQ(test, iovas[PATH_HELPER], 1);
		KUNIT_EXPECT_EQ(test, r[PATH_HELPER].entries, 1);
		kunit_info(test, "bench iommu size_mib=%zu ranges=%u helper_ns=%llu helper_entries=%u helper_iovas=%u block_ns=%llu block_entries=%u block_iovas=%u buddy_ns=%llu buddy_entries=%u buddy_iovas=%u floor_ns=%llu floor_entries=%u helper2_ns=%llu\n",
			   size >> 20, md->nr_ranges, r[PATH_HELPER].ns,
			   r[PATH_HELPER].entries, iovas[PATH_HELPER],
			   r[PATH_BLOCK].ns, r[PATH_BLOCK].entries,
			   iovas[PATH_BLOCK], r[PATH_BUDDY].ns,
			   r[PATH_BUDDY].entries, iovas[PATH_BUDDY],
			   r[PATH_FLOOR].ns, r[PATH_FLOOR].entries,
			   r[PATH_HELPER2].ns);
	}
}

static struct kunit_case drm_prime_p2p_tests[] = {
	KUNIT_CASE_PARAM(test_matrix, matrix_gen_params),
	KUNIT_CASE(test_migrate_invalidates),
	KUNIT_CASE(test_object_exported),
	KUNIT_CASE(test_tt_extra_pages),
	KUNIT_CASE(test_evict),
	KUNIT_CASE(test_pin_blocks_evict),
	KUNIT_CASE(test_evict_pressure),
	KUNIT_CASE(test_vmap_pins),
	KUNIT_CASE(test_revoke),
	KUNIT_CASE(test_revoke_static),
	KUNIT_CASE(test_revoke_pinned_p2p),
	KUNIT_CASE(test_pinned_p2p_policy),
	KUNIT_CASE(test_revoke_vmap),
	KUNIT_CASE(test_revoke_fence),
	KUNIT_CASE(test_revoke_fence_timeout),
	KUNIT_CASE(test_pin_waits_for_move),
	KUNIT_CASE(test_move_after_handle_close),
	KUNIT_CASE(test_attach_races_pin),
	KUNIT_CASE(test_race),
	KUNIT_CASE(test_unbalanced),
	KUNIT_CASE(test_segments),
	KUNIT_CASE(test_ranges),
	KUNIT_CASE(test_ranges_cached),
	KUNIT_CASE(test_map_placed),
	KUNIT_CASE(test_spare_mapping),
	KUNIT_CASE(test_tiny_segments),
	KUNIT_CASE(test_max_segment),
	KUNIT_CASE(test_pinned_out_of_reach),
	KUNIT_CASE(test_ranges_required),
	KUNIT_CASE(test_dma_mask),
	KUNIT_CASE(test_pin_dma_mask),
	KUNIT_CASE(test_fault_injection),
	KUNIT_CASE(test_driver_dmabuf_ops),
	KUNIT_CASE(test_driver_hooks),
	KUNIT_CASE(test_window_migrates_in),
	KUNIT_CASE(test_window_too_big),
	KUNIT_CASE(test_window_pinned_beyond),
	KUNIT_CASE(test_window_full),
	KUNIT_CASE(test_window_recheck),
	KUNIT_CASE(test_window_private),
	{}
};

static struct kunit_suite drm_prime_p2p_suite = {
	.name = "drm-prime-p2p",
	.init = mock_init,
	.exit = mock_exit,
	.test_cases = drm_prime_p2p_tests,
};

#if IS_ENABLED(CONFIG_ZONE_DEVICE) && IS_ENABLED(CONFIG_PCI_P2PDMA)
static void zone_device_folio_free(struct folio *folio)
{
}

static const struct dev_pagemap_ops zone_device_ops = {
	.folio_free = zone_device_folio_free,
};

static void zone_device_unmap(void *pgmap)
{
	memunmap_pages(pgmap);
}

static void zone_device_release(void *res)
{
	release_mem_region(((struct resource *)res)->start,
			   resource_size(res));
}

/*
 * VRAM on a BAR with P2PDMA pages: ZONE_DEVICE struct pages, as
 * pci_p2pdma_add_resource() gives a BAR, over a free physical range.
 */
static int zone_device_init(struct kunit *test)
{
	struct dev_pagemap *pgmap;
	struct resource *res;
	void *addr;

	res = request_free_mem_region(&iomem_resource, VRAM_SIZE,
				      "drm-prime-p2p-test");
	KUNIT_ASSERT_FALSE(test, IS_ERR(res));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							zone_device_release,
							res), 0);
	pgmap = kunit_kzalloc(test, sizeof(*pgmap), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pgmap);
	pgmap->type = MEMORY_DEVICE_PCI_P2PDMA;
	pgmap->range.start = res->start;
	pgmap->range.end = res->end;
	pgmap->nr_range = 1;
	pgmap->ops = &zone_device_ops;
	addr = memremap_pages(pgmap, NUMA_NO_NODE);
	KUNIT_ASSERT_FALSE(test, IS_ERR(addr));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test,
							zone_device_unmap,
							pgmap), 0);
	mock_setup(test, &mock_p2p_funcs, VRAM_SIZE, TT_SIZE, res->start);
	return 0;
}

/*
 * pfn_valid() holds for a BAR with P2PDMA pages, but it is still MMIO, to
 * be mapped as dma_map_resource() does, never bounced or synced as RAM;
 * each entry's DMA address is the BAR's.
 */
static void test_zone_device_bar(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct scatterlist *sg;
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct mock_bo *bo;
	phys_addr_t base;
	unsigned int i;

	KUNIT_ASSERT_TRUE(test, pfn_valid(PHYS_PFN(md->vram_phys)));
	KUNIT_ASSERT_TRUE(test,
			  is_pci_p2pdma_page(pfn_to_page(PHYS_PFN(md->vram_phys))));

	bo = mock_bo_create(test, SZ_256K, VRAM_ONLY);
	dmabuf = export(test, bo);
	imp = fake_importer(test, "bar", DMA_BIT_MASK(64), SZ_64K, true);
	KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
	sgt = imp_map(imp);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
	KUNIT_EXPECT_EQ(test, imp_kind(imp), DRM_PRIME_P2P_MAP_RESOURCE);
	dma_resv_lock(dmabuf->resv, NULL);
	KUNIT_EXPECT_TRUE(test, drm_prime_p2p_attachment_mmio(imp->attach));
	base = md->vram_phys +
	       ((phys_addr_t)bo->tbo.resource->start << PAGE_SHIFT);
	dma_resv_unlock(dmabuf->resv);
	KUNIT_EXPECT_EQ(test, sgt->nents, SZ_256K / SZ_64K);
	for_each_sgtable_dma_sg(sgt, sg, i)
		KUNIT_EXPECT_EQ(test, dma_to_phys(imp->dev, sg_dma_address(sg)),
				base + (phys_addr_t)i * SZ_64K);
	imp_detach(imp);
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
	unexport(bo, dmabuf);
}

static struct kunit_case drm_prime_p2p_zone_device_cases[] = {
	KUNIT_CASE(test_zone_device_bar),
	{}
};

static struct kunit_suite drm_prime_p2p_zone_device_suite = {
	.name = "drm-prime-p2p-zone-device",
	.init = zone_device_init,
	.exit = mock_exit,
	.test_cases = drm_prime_p2p_zone_device_cases,
};

kunit_test_suite(drm_prime_p2p_zone_device_suite);
#endif

static struct kunit_case drm_prime_p2p_bench_cases[] = {
	KUNIT_CASE_SLOW(bench_map),
	KUNIT_CASE_SLOW(bench_migrate),
	KUNIT_CASE_SLOW(bench_invalidate),
	KUNIT_CASE_SLOW(bench_iommu),
	{}
};

static struct kunit_suite drm_prime_p2p_bench_suite = {
	.name = "drm-prime-p2p-bench",
	.init = bench_init,
	.exit = mock_exit,
	.test_cases = drm_prime_p2p_bench_cases,
};

/*
 * Behind an IOMMU (the test command boots the guest's iommu topology with
 * this suite): a buffer in 16 ranges with gaps is mapped into one IOVA
 * range, one entry, every range where it belongs, nothing translated once
 * unmapped; one in a single range through the DMA API as ever. Skipped
 * without QEMU's edu device behind an IOMMU.
 */
static void test_iommu_one_iova(struct kunit *test)
{
	struct mock_dev *md = test->priv;
	struct fake_importer *imp;
	struct dma_buf *dmabuf;
	struct mock_bo *bo;
	unsigned int l;

	imp = edu_importer(test, edu_behind_iommu(test));
	for (l = 0; l < 2; l++) {
		md->nr_ranges = l ? 16 : 1;
		bo = mock_bo_create(test, SZ_64M, VRAM_ONLY);
		dmabuf = export(test, bo);
		KUNIT_ASSERT_EQ(test, imp_attach(imp, dmabuf, &dynamic_p2p_ops), 0);
		KUNIT_EXPECT_EQ(test, iommu_check(test, imp, bo), 1);
		imp_detach(imp);
		unexport(bo, dmabuf);
	}
	KUNIT_EXPECT_EQ(test, drm_prime_p2p_mappings(&md->p2p), 0);
}

static int iommu_init(struct kunit *test)
{
	struct mock_dev *md;

	/* VRAM with no RAM behind it, where the IOMMU translates to. */
	mock_setup(test, &split_p2p_funcs, SZ_128M, SZ_64M, BENCH_IOMMU_PHYS);
	md = test->priv;
	md->stride = 2;
	return 0;
}

static struct kunit_case drm_prime_p2p_iommu_cases[] = {
	KUNIT_CASE(test_iommu_one_iova),
	{}
};

static struct kunit_suite drm_prime_p2p_iommu_suite = {
	.name = "drm-prime-p2p-iommu",
	.init = iommu_init,
	.exit = mock_exit,
	.test_cases = drm_prime_p2p_iommu_cases,
};

kunit_test_suites(&drm_prime_p2p_suite, &drm_prime_p2p_bench_suite,
		  &drm_prime_p2p_iommu_suite);

MODULE_DESCRIPTION("KUnit tests of the DRM P2P dma-buf exporter");
MODULE_LICENSE("Dual MIT/GPL");
