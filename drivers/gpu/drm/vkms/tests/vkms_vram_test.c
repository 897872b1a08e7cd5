// SPDX-License-Identifier: GPL-2.0+
/*
 * KUnit tests for the virtual VRAM of VKMS: parsing of its configuration,
 * placement and fallback, eviction under pressure and the way back, pinning,
 * and composition reading the same pixels from VRAM and system memory.
 */

#include <linux/dma-buf.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/mm.h>

#include <drm/drm_fourcc.h>
#include <drm/drm_framebuffer.h>
#include <drm/drm_gem.h>
#include <drm/drm_kunit_helpers.h>
#include <drm/ttm/ttm_bo.h>
#include <drm/ttm/ttm_placement.h>
#include <drm/ttm/ttm_resource.h>
#include <kunit/device.h>
#include <kunit/static_stub.h>
#include <kunit/test.h>

#include "../vkms_drv.h"
#include "../vkms_formats.h"
#include "../vkms_vram.h"

MODULE_IMPORT_NS("EXPORTED_FOR_KUNIT_TESTING");

/* Four quarters of VRAM; within MAX_PAGE_ORDER, so no CMA is needed. */
#define VRAM_SIZE	SZ_4M
#define QUARTER		(VRAM_SIZE / 4)

static const struct drm_driver vram_test_driver = {
	.driver_features = DRIVER_GEM,
};

static int vram_test_init(struct kunit *test)
{
	struct vkms_device *vkms;
	struct device *dev;

	dev = drm_kunit_helper_alloc_device(test);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)), 0);

	vkms = drm_kunit_helper_alloc_drm_device_with_driver(test, dev,
							     struct vkms_device,
							     drm,
							     &vram_test_driver);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, vkms);
	KUNIT_ASSERT_EQ(test, vkms_vram_init(vkms, VRAM_SIZE, 0, VKMS_P2P_NONE, NULL),
			0);
	KUNIT_ASSERT_NOT_NULL(test, vkms->vram);
	test->priv = vkms;
	return 0;
}

static struct vkms_bo *bo_create(struct kunit *test, size_t size)
{
	struct vkms_bo *bo = vkms_bo_create(test->priv, size);

	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo);
	return bo;
}

static void bo_put(struct vkms_bo *bo)
{
	drm_gem_object_put(&bo->tbo.base);
}

static u32 mem_type(struct vkms_bo *bo)
{
	return bo->tbo.resource->mem_type;
}

static u32 pattern(size_t i, u32 seed)
{
	return (u32)(i * 2654435761u) ^ seed;
}

/* Writes through a kernel mapping, which pins only while it lasts. */
static void fill(struct kunit *test, struct vkms_bo *bo, u32 seed)
{
	struct iosys_map map;
	size_t i;

	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo->tbo.base, &map), 0);
	KUNIT_ASSERT_FALSE(test, map.is_iomem);
	for (i = 0; i < bo->tbo.base.size / 4; i++)
		((u32 *)map.vaddr)[i] = pattern(i, seed);
	drm_gem_vunmap(&bo->tbo.base, &map);
}

/* Checks through a kernel mapping; returns the first wrong index or -1. */
static long check(struct kunit *test, struct vkms_bo *bo, u32 seed)
{
	struct iosys_map map;
	long bad = -1;
	size_t i;

	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo->tbo.base, &map), 0);
	for (i = 0; i < bo->tbo.base.size / 4; i++) {
		if (((u32 *)map.vaddr)[i] != pattern(i, seed)) {
			bad = i;
			break;
		}
	}
	drm_gem_vunmap(&bo->tbo.base, &map);
	return bad;
}

static void vram_test_parse_size(struct kunit *test)
{
	static const struct {
		const char *str;
		int ret;
		u64 size;
	} cases[] = {
		{ "0", 0, 0 },
		{ "4096", 0, 4096 },
		{ "64M\n", 0, SZ_64M },
		{ " 1G", 0, SZ_1G },
		{ "8k", 0, SZ_8K },
		{ "4097", -EINVAL, 0 },
		{ "", -EINVAL, 0 },
		{ "\n", -EINVAL, 0 },
		{ "-4096", -EINVAL, 0 },
		{ "64M junk", -EINVAL, 0 },
		{ "sixty", -EINVAL, 0 },
	};
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		u64 size = 12345, want = cases[i].size;
		int ret = vkms_vram_parse_size(cases[i].str, &size);

		/* A refused size leaves the old one. */
		if (cases[i].ret)
			want = 12345;

		KUNIT_EXPECT_EQ_MSG(test, ret, cases[i].ret, "\"%s\"", cases[i].str);
		KUNIT_EXPECT_EQ_MSG(test, size, want, "\"%s\"", cases[i].str);
	}

	KUNIT_EXPECT_TRUE(test, vkms_vram_size_fits(0));
	KUNIT_EXPECT_TRUE(test, vkms_vram_size_fits(SZ_4M));
	KUNIT_EXPECT_FALSE(test, vkms_vram_size_fits((u64)totalram_pages() << PAGE_SHIFT));
	KUNIT_EXPECT_FALSE(test, vkms_vram_size_fits(U64_MAX & PAGE_MASK));
}

static void vram_test_parse_policy(struct kunit *test)
{
	static const char * const bad[] = {
		"", "\n", "ALL", "some", "none all", "vkms2", " all",
	};
	enum vkms_p2p_policy policy;
	unsigned int i;

	KUNIT_EXPECT_EQ(test, vkms_vram_parse_policy("none", &policy), 0);
	KUNIT_EXPECT_EQ(test, policy, VKMS_P2P_NONE);
	KUNIT_EXPECT_EQ(test, vkms_vram_parse_policy("vkms\n", &policy), 0);
	KUNIT_EXPECT_EQ(test, policy, VKMS_P2P_VKMS);
	KUNIT_EXPECT_EQ(test, vkms_vram_parse_policy("all", &policy), 0);
	KUNIT_EXPECT_EQ(test, policy, VKMS_P2P_ALL);

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		policy = VKMS_P2P_ALL;
		KUNIT_EXPECT_EQ_MSG(test, vkms_vram_parse_policy(bad[i], &policy),
				    -EINVAL, "\"%s\"", bad[i]);
		KUNIT_EXPECT_EQ(test, policy, VKMS_P2P_ALL);
	}

	for (policy = VKMS_P2P_NONE; policy <= VKMS_P2P_ALL; policy++) {
		enum vkms_p2p_policy back;

		KUNIT_EXPECT_EQ(test, vkms_vram_parse_policy(vkms_vram_policy_name(policy),
							     &back), 0);
		KUNIT_EXPECT_EQ(test, back, policy);
	}
}

/* Buffers land in VRAM, and in system memory when VRAM cannot hold them. */
static void vram_test_placement(struct kunit *test)
{
	struct vkms_device *vkms = test->priv;
	struct vkms_bo *small, *big;

	small = bo_create(test, QUARTER);
	KUNIT_EXPECT_EQ(test, mem_type(small), TTM_PL_VRAM);
	KUNIT_EXPECT_TRUE(test, vkms_bo_is_vkms(&small->tbo.base));

	/* Too big for VRAM: it goes to system memory, evicting nothing. */
	big = bo_create(test, VRAM_SIZE + PAGE_SIZE);
	KUNIT_EXPECT_EQ(test, mem_type(big), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, mem_type(small), TTM_PL_VRAM);

	/* Both hold what was written, wherever they are. */
	fill(test, small, 1);
	fill(test, big, 2);
	KUNIT_EXPECT_EQ(test, check(test, small, 1), -1);
	KUNIT_EXPECT_EQ(test, check(test, big, 2), -1);
	KUNIT_EXPECT_EQ(test, mem_type(small), TTM_PL_VRAM);

	/* A kernel mapping of VRAM is VRAM itself. */
	KUNIT_EXPECT_EQ(test, (u64)small->tbo.resource->start << PAGE_SHIFT,
			(u64)0);
	KUNIT_EXPECT_EQ(test, ((u32 *)vkms->vram->vaddr)[7], pattern(7, 1));

	KUNIT_EXPECT_EQ(test, PTR_ERR(vkms_bo_create(vkms, 0)), -EINVAL);
	KUNIT_EXPECT_EQ(test, PTR_ERR(vkms_bo_create(vkms, 100)), -EINVAL);

	bo_put(big);
	bo_put(small);
}

/*
 * A full VRAM makes room for a new buffer by evicting the least recently
 * used one to system memory with its content; mapping that one again brings
 * it back, evicting the next.
 */
static void vram_test_evict(struct kunit *test)
{
	struct vkms_bo *bo[5];
	unsigned int i;

	for (i = 0; i < 4; i++) {
		bo[i] = bo_create(test, QUARTER);
		fill(test, bo[i], i);
		KUNIT_EXPECT_EQ(test, mem_type(bo[i]), TTM_PL_VRAM);
	}

	bo[4] = bo_create(test, QUARTER);
	KUNIT_EXPECT_EQ(test, mem_type(bo[4]), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, mem_type(bo[0]), TTM_PL_TT);
	for (i = 1; i < 4; i++)
		KUNIT_EXPECT_EQ(test, mem_type(bo[i]), TTM_PL_VRAM);

	/* Back to VRAM on its next mapping, content intact. */
	KUNIT_EXPECT_EQ(test, check(test, bo[0], 0), -1);
	KUNIT_EXPECT_EQ(test, mem_type(bo[0]), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, mem_type(bo[1]), TTM_PL_TT);
	for (i = 1; i < 4; i++)
		KUNIT_EXPECT_EQ(test, check(test, bo[i], i), -1);

	for (i = 0; i < 5; i++)
		bo_put(bo[i]);
}

/* Checks that every byte of @bo reads zero; returns the first other or -1. */
static long check_zero(struct kunit *test, struct vkms_bo *bo)
{
	struct iosys_map map;
	long bad = -1;
	size_t i;

	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo->tbo.base, &map), 0);
	for (i = 0; i < bo->tbo.base.size / 4; i++) {
		if (((u32 *)map.vaddr)[i]) {
			bad = i;
			break;
		}
	}
	drm_gem_vunmap(&bo->tbo.base, &map);
	return bad;
}

/*
 * A new buffer holds no one else's data: VRAM another buffer left, freed
 * or evicted, is cleared before a new buffer gets it.
 */
static void vram_test_cleared(struct kunit *test)
{
	struct vkms_bo *bo[5], *whole;
	unsigned int i;

	/* Every byte of VRAM written, then freed. */
	for (i = 0; i < 4; i++) {
		bo[i] = bo_create(test, QUARTER);
		fill(test, bo[i], i + 20);
		KUNIT_EXPECT_EQ(test, mem_type(bo[i]), TTM_PL_VRAM);
	}
	for (i = 0; i < 4; i++)
		bo_put(bo[i]);
	whole = bo_create(test, VRAM_SIZE);
	KUNIT_EXPECT_EQ(test, mem_type(whole), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, check_zero(test, whole), -1);
	fill(test, whole, 30);
	bo_put(whole);

	/* Evicted: the new buffer takes the VRAM of the oldest one. */
	for (i = 0; i < 4; i++) {
		bo[i] = bo_create(test, QUARTER);
		KUNIT_EXPECT_EQ(test, check_zero(test, bo[i]), -1);
		fill(test, bo[i], i + 40);
	}
	bo[4] = bo_create(test, QUARTER);
	KUNIT_EXPECT_EQ(test, mem_type(bo[0]), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, mem_type(bo[4]), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, check_zero(test, bo[4]), -1);
	/* The evicted one kept its content. */
	KUNIT_EXPECT_EQ(test, check(test, bo[0], 40), -1);
	for (i = 0; i < 5; i++)
		bo_put(bo[i]);
}

/*
 * A mapped (scanned out) buffer is pinned: pressure evicts the others, and
 * when only pinned buffers are left a new one goes to system memory.
 */
static void vram_test_pinned(struct kunit *test)
{
	struct iosys_map map[4];
	struct vkms_bo *bo[4], *extra, *fallback;
	unsigned int i;

	for (i = 0; i < 4; i++) {
		bo[i] = bo_create(test, QUARTER);
		fill(test, bo[i], i + 10);
	}
	/* Pin the oldest one, the first to go otherwise. */
	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo[0]->tbo.base, &map[0]), 0);

	extra = bo_create(test, QUARTER);
	KUNIT_EXPECT_EQ(test, mem_type(bo[0]), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, mem_type(bo[1]), TTM_PL_TT);
	KUNIT_EXPECT_EQ(test, mem_type(extra), TTM_PL_VRAM);

	/* With every buffer in VRAM pinned, a new one falls back. */
	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo[2]->tbo.base, &map[2]), 0);
	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo[3]->tbo.base, &map[3]), 0);
	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&extra->tbo.base, &map[1]), 0);
	fallback = bo_create(test, QUARTER);
	KUNIT_EXPECT_EQ(test, mem_type(fallback), TTM_PL_TT);
	bo_put(fallback);
	KUNIT_EXPECT_EQ(test, mem_type(bo[1]), TTM_PL_TT);

	/* Nor can an evicted buffer come back: it is mapped where it is. */
	KUNIT_EXPECT_EQ(test, check(test, bo[1], 11), -1);
	KUNIT_EXPECT_EQ(test, mem_type(bo[1]), TTM_PL_TT);

	drm_gem_vunmap(&extra->tbo.base, &map[1]);
	drm_gem_vunmap(&bo[3]->tbo.base, &map[3]);
	drm_gem_vunmap(&bo[2]->tbo.base, &map[2]);
	drm_gem_vunmap(&bo[0]->tbo.base, &map[0]);
	for (i = 0; i < 4; i++) {
		KUNIT_EXPECT_EQ(test, bo[i]->tbo.pin_count, 0u);
		KUNIT_EXPECT_EQ(test, check(test, bo[i], i + 10), -1);
		bo_put(bo[i]);
	}
	bo_put(extra);
}

/* A 640x480 XRGB8888 frame: more than the order-8 pages TTM's pool gives. */
#define FRAME_SIZE	(640 * 480 * 4)

/* An importer's mapping, dropped when the exporter says so. */
struct contig_importer {
	struct sg_table *sgt;
	unsigned int invalidations;
};

static void contig_invalidate(struct dma_buf_attachment *attach)
{
	struct contig_importer *imp = attach->importer_priv;

	imp->invalidations++;
	if (imp->sgt) {
		dma_buf_unmap_attachment(attach, imp->sgt, DMA_BIDIRECTIONAL);
		imp->sgt = NULL;
	}
}

/*
 * A capture device that pins, as vb2-dma-contig does, or a dynamic importer
 * that maps without pinning; either without an IOMMU.
 */
static const struct dma_buf_attach_ops contig_importer_ops = {
	.allow_peer2peer = true,
	.invalidate_mappings = contig_invalidate,
};

/* How many bytes from the start of @sgt are one range of DMA addresses. */
static size_t dma_contiguous_size(struct sg_table *sgt)
{
	struct scatterlist *sg;
	dma_addr_t next = 0;
	size_t size = 0;
	unsigned int i;

	for_each_sgtable_dma_sg(sgt, sg, i) {
		if (i && sg_dma_address(sg) != next)
			break;
		size += sg_dma_len(sg);
		next = sg_dma_address(sg) + sg_dma_len(sg);
	}
	return size;
}

/* Checks @bo's bytes through the pages mapped in @sgt (DMA is direct). */
static long check_sgt(struct sg_table *sgt, u32 seed)
{
	struct sg_page_iter iter;
	size_t i = 0, j;

	for_each_sgtable_page(sgt, &iter, 0) {
		u32 *p = page_address(sg_page_iter_page(&iter));

		for (j = 0; j < PAGE_SIZE / 4; j++, i++)
			if (p[j] != pattern(i, seed))
				return i;
	}
	return -1;
}

/*
 * An importer that pins the buffer and maps it without an IOMMU gets it in
 * one physically contiguous range of system memory, with its content:
 * straight from VRAM (policy none: it does not reach VRAM), or from
 * scattered system memory, where another importer that maps the pages
 * without pinning them is told to drop its mapping, since they are
 * replaced. Composition does not take the buffer back to VRAM afterwards.
 */
static void vram_test_contiguous(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_place tt_place = { .mem_type = TTM_PL_TT };
	struct ttm_placement tt = { .num_placement = 1, .placement = &tt_place };
	struct dma_buf_attachment *pinner, *mapper;
	struct contig_importer cap = { }, gpu = { };
	struct vkms_bo *bo[2];
	struct dma_buf *dmabuf;
	struct sg_table *sgt;
	struct device *dev;
	unsigned int i;

	dev = kunit_device_register(test, "vkms-contig-importer");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dev);
	dev->dma_mask = &dev->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(dev, DMA_BIT_MASK(64)), 0);

	for (i = 0; i < 2; i++) {
		bo[i] = bo_create(test, FRAME_SIZE);
		fill(test, bo[i], 30 + i);
		KUNIT_EXPECT_EQ(test, mem_type(bo[i]), TTM_PL_VRAM);
	}
	/* The second one in scattered system memory first. */
	KUNIT_ASSERT_EQ(test, ttm_bo_reserve(&bo[1]->tbo, false, false, NULL), 0);
	KUNIT_ASSERT_EQ(test, ttm_bo_validate(&bo[1]->tbo, &tt, &ctx), 0);
	ttm_bo_unreserve(&bo[1]->tbo);

	for (i = 0; i < 2; i++) {
		dmabuf = bo[i]->tbo.base.funcs->export(&bo[i]->tbo.base, O_RDWR);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, dmabuf);
		pinner = dma_buf_dynamic_attach(dmabuf, dev, &contig_importer_ops,
						&cap);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, pinner);
		mapper = dma_buf_dynamic_attach(dmabuf, dev, &contig_importer_ops,
						&gpu);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, mapper);
		gpu.invalidations = 0;

		dma_resv_lock(dmabuf->resv, NULL);
		if (i) {
			/* Pages where they are, mapped without a pin. */
			gpu.sgt = dma_buf_map_attachment(mapper,
							 DMA_BIDIRECTIONAL);
			KUNIT_ASSERT_NOT_ERR_OR_NULL(test, gpu.sgt);
			KUNIT_EXPECT_EQ(test, mem_type(bo[i]), TTM_PL_TT);
			KUNIT_EXPECT_EQ(test, check_sgt(gpu.sgt, 30 + i), -1);
		}

		KUNIT_ASSERT_EQ(test, dma_buf_pin(pinner), 0);
		KUNIT_EXPECT_EQ(test, mem_type(bo[i]), VKMS_PL_CONTIG);
		/*
		 * Told, as of any move that changes the pages (out of VRAM, or
		 * into new contiguous ones), it let go of its mapping.
		 */
		KUNIT_EXPECT_EQ(test, gpu.invalidations, 1u);
		KUNIT_EXPECT_NULL(test, gpu.sgt);
		sgt = dma_buf_map_attachment(pinner, DMA_BIDIRECTIONAL);
		KUNIT_ASSERT_NOT_ERR_OR_NULL(test, sgt);
		KUNIT_EXPECT_EQ(test, dma_contiguous_size(sgt), (size_t)FRAME_SIZE);
		KUNIT_EXPECT_EQ(test, check_sgt(sgt, 30 + i), -1);
		dma_buf_unmap_attachment(pinner, sgt, DMA_BIDIRECTIONAL);
		dma_buf_unpin(pinner);
		dma_resv_unlock(dmabuf->resv);

		dma_buf_detach(dmabuf, mapper);
		dma_buf_detach(dmabuf, pinner);
		dma_buf_put(dmabuf);
		/*
		 * Composition reads it where it is: it stays for the importer's
		 * next map, not moved back and forth.
		 */
		KUNIT_EXPECT_EQ(test, check(test, bo[i], 30 + i), -1);
		KUNIT_EXPECT_EQ(test, mem_type(bo[i]), VKMS_PL_CONTIG);
		bo_put(bo[i]);
	}
}

#define FB_W	64
#define FB_H	32

/* Reads every line of @bo as VKMS composition does, through a vmap. */
static void compose_lines(struct kunit *test, struct vkms_bo *bo,
			  struct pixel_argb_u16 *out)
{
	struct drm_framebuffer fb = {
		.format = drm_format_info(DRM_FORMAT_XRGB8888),
		.pitches = { FB_W * 4 },
		.width = FB_W,
		.height = FB_H,
	};
	struct vkms_frame_info frame_info = { .fb = &fb };
	struct vkms_plane_state plane = { .frame_info = &frame_info };
	pixel_read_line_t read_line;
	int y;

	read_line = get_pixel_read_line_function(DRM_FORMAT_XRGB8888);
	KUNIT_ASSERT_NOT_NULL(test, read_line);
	KUNIT_ASSERT_EQ(test, drm_gem_vmap(&bo->tbo.base, &frame_info.map[0]), 0);
	for (y = 0; y < FB_H; y++)
		read_line(&plane, 0, y, READ_LEFT_TO_RIGHT, FB_W, out + y * FB_W);
	drm_gem_vunmap(&bo->tbo.base, &frame_info.map[0]);
}

static void vram_test_compose(struct kunit *test)
{
	struct ttm_operation_ctx ctx = { };
	struct ttm_place tt_place = { .mem_type = TTM_PL_TT };
	struct ttm_placement tt = { .num_placement = 1, .placement = &tt_place };
	struct pixel_argb_u16 *from_vram, *from_tt;
	size_t size = PAGE_ALIGN(FB_W * FB_H * 4);
	struct vkms_bo *in_vram, *in_tt;
	u32 px;

	from_vram = kunit_kcalloc(test, FB_W * FB_H, sizeof(*from_vram), GFP_KERNEL);
	from_tt = kunit_kcalloc(test, FB_W * FB_H, sizeof(*from_tt), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, from_vram);
	KUNIT_ASSERT_NOT_NULL(test, from_tt);

	in_vram = bo_create(test, size);
	in_tt = bo_create(test, size);
	fill(test, in_vram, 0x5a5a5a5a);
	fill(test, in_tt, 0x5a5a5a5a);

	/* Keep one in system memory: moved there and pinned. */
	KUNIT_ASSERT_EQ(test, dma_resv_lock(in_tt->tbo.base.resv, NULL), 0);
	KUNIT_EXPECT_EQ(test, ttm_bo_validate(&in_tt->tbo, &tt, &ctx), 0);
	ttm_bo_pin(&in_tt->tbo);
	dma_resv_unlock(in_tt->tbo.base.resv);

	compose_lines(test, in_vram, from_vram);
	compose_lines(test, in_tt, from_tt);
	KUNIT_EXPECT_EQ(test, mem_type(in_vram), TTM_PL_VRAM);
	KUNIT_EXPECT_EQ(test, mem_type(in_tt), TTM_PL_TT);

	KUNIT_EXPECT_MEMEQ(test, from_vram, from_tt,
			   FB_W * FB_H * sizeof(*from_vram));
	/* And they are the pixels written, not two equal wrong answers. */
	px = pattern(FB_W * 3 + 5, 0x5a5a5a5a);
	KUNIT_EXPECT_EQ(test, from_vram[FB_W * 3 + 5].a, 0xffff);
	KUNIT_EXPECT_EQ(test, from_vram[FB_W * 3 + 5].r, ((px >> 16) & 0xff) * 257);
	KUNIT_EXPECT_EQ(test, from_vram[FB_W * 3 + 5].g, ((px >> 8) & 0xff) * 257);
	KUNIT_EXPECT_EQ(test, from_vram[FB_W * 3 + 5].b, (px & 0xff) * 257);

	KUNIT_ASSERT_EQ(test, dma_resv_lock(in_tt->tbo.base.resv, NULL), 0);
	ttm_bo_unpin(&in_tt->tbo);
	dma_resv_unlock(in_tt->tbo.base.resv);
	bo_put(in_tt);
	bo_put(in_vram);
}

#if IS_ENABLED(CONFIG_PCI)
/*
 * A VKMS device with VRAM on a BAR, the ivshmem driver's part stubbed: the
 * BAR is memory of the test's, and vkms_pci_vram_remove() is played at the
 * worst moment, when it takes vkms_pci_lock just before the VKMS device's
 * release gives the BAR back.
 */
struct bar_race {
	struct page *bar;
	struct vkms_vram *vram;
	unsigned int claims, releases;
	bool removed;
	/* the device went between the claim and the end of the setup */
	bool gone_early;
};

static struct bar_race *the_bar_race;

static struct vkms_pci_vram *fake_bar_claim(const char *name,
					    struct vkms_vram *user,
					    phys_addr_t *phys, u64 *size)
{
	struct bar_race *r = the_bar_race;

	r->vram = user;
	r->claims++;
	*phys = page_to_phys(r->bar);
	*size = VRAM_SIZE;
	return (struct vkms_pci_vram *)r;
}

static int fake_bar_ready(struct vkms_pci_vram *pv)
{
	return ((struct bar_race *)pv)->gone_early ? -ENODEV : 0;
}

static struct p2pdma_provider *fake_bar_provider(struct vkms_pci_vram *pv)
{
	return NULL;
}

static void fake_bar_release(struct vkms_pci_vram *pv)
{
	struct bar_race *r = (struct bar_race *)pv;
	struct kunit *test = kunit_get_current_test();

	r->releases++;
	if (r->gone_early)
		return;
	/*
	 * remove() finds the BAR still lent to the device, and takes its VRAM
	 * down: that must find TTM and the exporter alive.
	 */
	if (!ttm_manager_type(&r->vram->bdev, TTM_PL_VRAM)) {
		KUNIT_FAIL(test,
			   "the BAR is given back after TTM went: a remove() in between evicts on a dead device");
		return;
	}
	vkms_vram_bar_gone(r->vram);
	r->removed = true;
}

static void free_bar(void *data)
{
	struct bar_race *r = data;

	__free_pages(r->bar, get_order(VRAM_SIZE));
	the_bar_race = NULL;
}

/* A device with VRAM on the stubbed BAR, not set up yet. */
static struct bar_race *bar_race_setup(struct kunit *test,
				       struct vkms_device **vkms,
				       struct device **dev)
{
	struct bar_race *r;

	r = kunit_kzalloc(test, sizeof(*r), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, r);
	r->bar = alloc_pages(GFP_KERNEL | __GFP_ZERO, get_order(VRAM_SIZE));
	KUNIT_ASSERT_NOT_NULL(test, r->bar);
	the_bar_race = r;
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_bar, r), 0);
	kunit_activate_static_stub(test, vkms_pci_vram_claim, fake_bar_claim);
	kunit_activate_static_stub(test, vkms_pci_vram_ready, fake_bar_ready);
	kunit_activate_static_stub(test, vkms_pci_vram_provider,
				   fake_bar_provider);
	kunit_activate_static_stub(test, vkms_pci_vram_release,
				   fake_bar_release);

	*dev = kunit_device_register(test, "vkms-bar-race");
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, *dev);
	(*dev)->dma_mask = &(*dev)->coherent_dma_mask;
	KUNIT_ASSERT_EQ(test, dma_set_mask_and_coherent(*dev, DMA_BIT_MASK(64)),
			0);
	*vkms = drm_kunit_helper_alloc_drm_device_with_driver(test, *dev,
							      struct vkms_device,
							      drm,
							      &vram_test_driver);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, *vkms);
	return r;
}

/*
 * The ivshmem device goes away while the VKMS device whose VRAM it holds is
 * released: the release gives the BAR back before it tears TTM down, so a
 * remove() that runs first still finds a device to take VRAM from, and one
 * that runs later finds the BAR no longer lent.
 */
static void vram_test_bar_release_races_remove(struct kunit *test)
{
	struct vkms_device *vkms;
	struct bar_race *r;
	struct vkms_bo *bo;
	struct device *dev;

	r = bar_race_setup(test, &vkms, &dev);
	KUNIT_ASSERT_EQ(test, vkms_vram_init(vkms, VRAM_SIZE, 0, VKMS_P2P_NONE,
					     "0000:00:04.0"), 0);
	KUNIT_ASSERT_EQ(test, r->claims, 1);

	/* A buffer in VRAM on the BAR, gone before the device is. */
	bo = vkms_bo_create(vkms, QUARTER);
	KUNIT_ASSERT_NOT_ERR_OR_NULL(test, bo);
	KUNIT_EXPECT_EQ(test, mem_type(bo), TTM_PL_VRAM);
	bo_put(bo);

	/* The last reference: the device is released here. */
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_EQ(test, r->releases, 1);
	KUNIT_EXPECT_TRUE(test, r->removed);
}

/*
 * The ivshmem device goes away between the claim and the end of the VKMS
 * device's setup: remove() leaves the half-made device alone (it is not
 * ready), and the setup fails with -ENODEV, giving the BAR back.
 */
static void vram_test_bar_gone_during_init(struct kunit *test)
{
	struct vkms_device *vkms;
	struct bar_race *r;
	struct device *dev;

	r = bar_race_setup(test, &vkms, &dev);
	r->gone_early = true;
	KUNIT_EXPECT_EQ(test, vkms_vram_init(vkms, VRAM_SIZE, 0, VKMS_P2P_NONE,
					     "0000:00:04.0"), -ENODEV);
	KUNIT_EXPECT_EQ(test, r->claims, 1);
	KUNIT_EXPECT_EQ(test, r->releases, 1);
	KUNIT_EXPECT_NULL(test, vkms->vram);
	kunit_device_unregister(test, dev);
	KUNIT_EXPECT_EQ(test, r->releases, 1);
}

static struct kunit_case vkms_vram_bar_test_cases[] = {
	KUNIT_CASE(vram_test_bar_release_races_remove),
	KUNIT_CASE(vram_test_bar_gone_during_init),
	{}
};

static struct kunit_suite vkms_vram_bar_test_suite = {
	.name = "vkms-vram-bar",
	.test_cases = vkms_vram_bar_test_cases,
};

kunit_test_suite(vkms_vram_bar_test_suite);
#endif

static struct kunit_case vkms_vram_test_cases[] = {
	KUNIT_CASE(vram_test_parse_size),
	KUNIT_CASE(vram_test_parse_policy),
	KUNIT_CASE(vram_test_placement),
	KUNIT_CASE(vram_test_evict),
	KUNIT_CASE(vram_test_cleared),
	KUNIT_CASE(vram_test_pinned),
	KUNIT_CASE(vram_test_compose),
	KUNIT_CASE(vram_test_contiguous),
	{}
};

static struct kunit_suite vkms_vram_test_suite = {
	.name = "vkms-vram",
	.init = vram_test_init,
	.test_cases = vkms_vram_test_cases,
};

kunit_test_suite(vkms_vram_test_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests for the virtual VRAM of VKMS");
