// SPDX-License-Identifier: MIT
/*
 * A peer-to-peer aware dma-buf exporter for TTM-backed GEM objects.
 */

#include <linux/debugfs.h>
#include <linux/dma-buf.h>
#include <linux/dma-buf-mapping.h>
#include <linux/dma-mapping.h>
#include <linux/dma-resv.h>
#include <linux/hashtable.h>
#include <linux/iommu.h>
#include <linux/iommu-dma.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pci-p2pdma.h>
#include <linux/rcupdate.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string_choices.h>
#include <linux/swiotlb.h>

#include <drm/drm_device.h>
#include <drm/drm_drv.h>
#include <drm/drm_gem.h>
#include <drm/drm_gem_ttm_helper.h>
#include <drm/drm_print.h>
#include <drm/drm_prime.h>
#include <drm/drm_prime_p2p.h>
#include <drm/ttm/ttm_bo.h>
#include <drm/ttm/ttm_device.h>
#include <drm/ttm/ttm_placement.h>
#include <drm/ttm/ttm_resource.h>
#include <drm/ttm/ttm_tt.h>

#include <kunit/static_stub.h>
#include <kunit/visibility.h>

#define CREATE_TRACE_POINTS
#include <trace/events/drm_prime_p2p.h>

/**
 * DOC: overview
 *
 * The helper exports TTM-backed GEM objects as dynamic dma-bufs and gives
 * every importer a mapping of its own: the device memory itself when the
 * importer can reach it peer-to-peer, system memory pages when it cannot,
 * migrating the buffer between the two as importers need. See
 * Documentation/gpu/drm-prime-p2p.rst for the contract.
 */

/*
 * Per export. Lives from drm_prime_p2p_export() to the dma-buf's release.
 * @link and the device's list are under &drm_prime_p2p_device.lock, all
 * the rest under the reservation lock of the object.
 */
struct drm_prime_p2p_export {
	struct drm_prime_p2p_device *p2p;
	struct drm_gem_object *obj;
	struct dma_buf *dmabuf;
	const struct dma_buf_ops *ops;	/* those it was exported with */
	struct hlist_node hash_node;	/* in p2p_exports, by @dmabuf */
	struct rcu_head rcu;
	struct list_head link;
	struct hlist_node obj_link;	/* in &drm_prime_p2p_object.exports */
	/*
	 * Every attachment from the moment the helper accepts it in attach:
	 * the core lists it in &dma_buf.attachments only after attach has
	 * returned and it has taken the reservation lock again, and a pin or
	 * an invalidation in between must count it in.
	 */
	struct list_head attachments;
	struct dentry *debugfs;
	bool revoked;
	/* a kernel mapping of device memory revoke must wait for */
	bool vmap_waited;
	unsigned int invalidations;
	unsigned int migrations;
	/* moves drm_prime_p2p_move_notify() was told of: what moved a buffer */
	unsigned int moves;
	/*
	 * The driver's resource_ranges() of @ranges_res, kept until the
	 * buffer moves or the export is revoked: maps of a buffer that stays
	 * where it is ask once. @ranges_attrs are those of every range, or
	 * ULONG_MAX when they differ (RAM and MMIO in one resource).
	 */
	const struct ttm_resource *ranges_res;
	u64 ranges_start;		/* and what @ranges_res was */
	size_t ranges_size;
	u32 ranges_type;
	struct phys_vec *ranges;
	unsigned int nr_ranges;
	unsigned long ranges_attrs;
	phys_addr_t ranges_end;		/* the last byte of any */
	size_t ranges_max;		/* the longest */
};

/* Per attachment, in &dma_buf_attachment.priv; under the reservation lock. */
struct drm_prime_p2p_attach {
	struct list_head link;	/* in &drm_prime_p2p_export.attachments */
	struct drm_prime_p2p_export *exp;
	struct dma_buf_attachment *attach;
	u32 reach;		/* device memory types reached, BIT(mem_type) */
	u32 private_types;	/* of them, those reached over a private link */
	unsigned int pins;
	unsigned int maps;
	unsigned int unmaps;
	unsigned int invalidations;
	enum drm_prime_p2p_map_kind kind;	/* of the last mapping */
	unsigned int nents;			/* of the last mapping */
	struct list_head mappings;
	/*
	 * The memory of the last MAP_RESOURCE mapping unmapped, kept for the
	 * next: an importer that maps and unmaps a buffer again and again
	 * (per job, after each invalidation) allocates nothing.
	 */
	struct drm_prime_p2p_mapping *spare;
};

struct drm_prime_p2p_dma_range {
	dma_addr_t addr;
	size_t len;
	unsigned long attrs;
};

/*
 * One mapping handed to an importer. MAP_RESOURCE: one allocation with the
 * ranges mapped and, after them, the entries of @table; MAP_PAGES: @table
 * from sg_alloc_table_from_pages_segment(); the others: @sgt from the layer
 * that mapped.
 */
struct drm_prime_p2p_mapping {
	struct list_head link;
	struct sg_table *sgt;		/* &table, or the one a mapper built */
	struct sg_table table;
	enum drm_prime_p2p_map_kind kind;
	enum dma_data_direction dir;
	/* counted in &drm_prime_p2p_device.device_mapped: revoke waits */
	bool waited;
	/*
	 * The memory behind it moved away or went (TTM moved or swapped the
	 * buffer out after telling the importer): no CPU sync touches it any
	 * more, the unmap included.
	 */
	bool stale;
	/* MAP_RESOURCE: the ranges were linked into one IOVA range */
	struct dma_iova_state iova;
	size_t size;			/* MAP_RESOURCE: bytes allocated */
	unsigned int ents;		/* MAP_RESOURCE: entries allocated */
	bool own_sgl;			/* MAP_RESOURCE: not those */
	unsigned int nr;		/* MAP_RESOURCE: ranges mapped */
	struct drm_prime_p2p_dma_range dma[] __counted_by(nr);
};

/*
 * Every live export, by its dma-buf: &dma_buf.priv is the exported GEM
 * object, as DRM code that checks its own buffers expects. Written under
 * p2p_exports_lock, read under RCU; the callbacks that come with an
 * attachment find their export through it instead.
 */
static DEFINE_HASHTABLE(p2p_exports, 10);
static DEFINE_SPINLOCK(p2p_exports_lock);

/* debugfs: drm_prime_p2p/<device>/<inode of each export's dma-buf> */
#define P2P_DEBUGFS_ROOT "drm_prime_p2p"
static struct dentry *p2p_debugfs_root;

/**
 * drm_prime_p2p_may_fail - a point where the helper can fail
 *
 * Every allocation and mapping the helper makes goes through P2P_FAULT(),
 * so that the KUnit tests can fail each in turn (a static stub) and check
 * that the error comes back cleanly. Without KUnit this is constant 0.
 *
 * Context: any context; takes no lock.
 *
 * Returns: non-zero to fail.
 */
VISIBLE_IF_KUNIT int drm_prime_p2p_may_fail(void)
{
	KUNIT_STATIC_STUB_REDIRECT(drm_prime_p2p_may_fail);
	return 0;
}
EXPORT_SYMBOL_IF_KUNIT(drm_prime_p2p_may_fail);

#define P2P_FAULT(expr, err) (drm_prime_p2p_may_fail() ? (err) : (expr))

static const char * const kind_names[] = {
	[DRM_PRIME_P2P_MAP_NONE] = "none",
	[DRM_PRIME_P2P_MAP_PCI] = "p2p-pci",
	[DRM_PRIME_P2P_MAP_RESOURCE] = "p2p-resource",
	[DRM_PRIME_P2P_MAP_DRIVER] = "p2p-driver",
	[DRM_PRIME_P2P_MAP_PAGES] = "pages",
};

/*
 * The export of @dmabuf, or NULL when the helper did not make it. The
 * caller holds a reference on @dmabuf (or is its release): the export
 * lives as long.
 */
static struct drm_prime_p2p_export *to_exp(const struct dma_buf *dmabuf)
{
	struct drm_prime_p2p_export *exp, *found = NULL;

	rcu_read_lock();
	hash_for_each_possible_rcu(p2p_exports, exp, hash_node,
				   (unsigned long)dmabuf) {
		/*
		 * The same object and callbacks too: a dma-buf another
		 * exporter made where one of ours was freed is not ours,
		 * even were the release of ours not to have come through
		 * the helper.
		 */
		if (exp->dmabuf == dmabuf && exp->obj == dmabuf->priv &&
		    exp->ops == dmabuf->ops) {
			found = exp;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static struct ttm_buffer_object *to_bo(struct drm_prime_p2p_export *exp)
{
	return container_of(exp->obj, struct ttm_buffer_object, base);
}

/* Device memory: a manager that does not keep its pages in a ttm_tt. */
static bool is_device_mem(struct ttm_device *bdev, u32 mem_type)
{
	struct ttm_resource_manager *man = ttm_manager_type(bdev, mem_type);

	return man && !man->use_tt;
}

static struct drm_prime_p2p_attach *to_pa(struct dma_buf_attachment *attach)
{
	return attach->priv;
}

/*
 * What the importer of @pa reaches: what attach found, unless the driver's
 * own attach cleared &dma_buf_attachment.peer2peer since (a device that
 * may not be a peer while it is runtime suspended).
 */
static u32 attach_reach(const struct drm_prime_p2p_attach *pa)
{
	return pa->attach->peer2peer ? pa->reach : 0;
}

/* Of those, the ones it reaches through the BAR, where a window applies. */
static u32 attach_bar(const struct drm_prime_p2p_attach *pa)
{
	return attach_reach(pa) & ~pa->private_types;
}

/* TTM calls the driver may take over: validation, pinning. */
static int p2p_validate(struct drm_prime_p2p_export *exp,
			struct ttm_placement *placement,
			struct ttm_operation_ctx *ctx)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;

	if (funcs->validate)
		return funcs->validate(exp->obj, placement, ctx);
	return ttm_bo_validate(to_bo(exp), placement, ctx);
}

static void p2p_unpin_bo(struct drm_prime_p2p_export *exp);

/*
 * Pin the buffer where the helper placed it: the importers were checked
 * against that resource, so a driver pin that moves it is undone.
 */
static int p2p_pin_bo(struct drm_prime_p2p_export *exp)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;
	struct ttm_buffer_object *bo = to_bo(exp);
	struct ttm_resource *placed = bo->resource;
	unsigned int moves = exp->moves;
	int ret;

	if (!funcs->pin) {
		ttm_bo_pin(bo);
		return 0;
	}
	ret = funcs->pin(exp->obj);
	if (ret)
		return ret;
	if (WARN_ON_ONCE(exp->moves != moves || bo->resource != placed)) {
		p2p_unpin_bo(exp);
		return -EBUSY;
	}
	return 0;
}

static void p2p_unpin_bo(struct drm_prime_p2p_export *exp)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;

	if (funcs->unpin)
		funcs->unpin(exp->obj);
	else
		ttm_bo_unpin(to_bo(exp));
}

/* Is @mem_type one of the driver's contiguous_placement? */
static bool is_contiguous_type(struct drm_prime_p2p_export *exp, u32 mem_type)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;
	const struct ttm_placement *pl;
	unsigned int i;

	if (!funcs->contiguous_placement)
		return false;
	pl = funcs->contiguous_placement(exp->obj);
	for (i = 0; pl && i < pl->num_placement; i++)
		if (pl->placement[i].mem_type == mem_type)
			return true;
	return false;
}

/* Which device memory types, and whether system memory, @obj may use. */
static u32 placement_classes(struct drm_prime_p2p_export *exp, bool *sys)
{
	const struct ttm_placement *pl = exp->p2p->funcs->placement(exp->obj);
	struct ttm_device *bdev = to_bo(exp)->bdev;
	u32 dev = 0;
	unsigned int i;

	*sys = false;
	for (i = 0; pl && i < pl->num_placement; i++) {
		u32 type = pl->placement[i].mem_type;

		if (is_device_mem(bdev, type))
			dev |= BIT(type);
		else
			*sys = true;
	}
	return dev;
}

/* The first page of @mem_type peers do not reach, or 0 for none. */
static unsigned long window_lpfn(struct drm_prime_p2p_device *p2p,
				 u32 mem_type)
{
	return READ_ONCE(p2p->peer_lpfn[mem_type]);
}

/*
 * Is the device memory @res within the part of its memory type peers
 * reach? As its manager's compatible() says of a place ending there, or,
 * for a manager without one, by the resource's start, which a manager
 * without compatible() keeps contiguous.
 */
static bool in_window(struct drm_prime_p2p_export *exp,
		      const struct ttm_resource *res)
{
	unsigned long lpfn = window_lpfn(exp->p2p, res->mem_type);
	struct ttm_device *bdev = to_bo(exp)->bdev;
	struct ttm_resource_manager *man;
	struct ttm_place place = { .mem_type = res->mem_type, .lpfn = lpfn };

	if (!lpfn)
		return true;
	man = ttm_manager_type(bdev, res->mem_type);
	if (man->func->compatible)
		return man->func->compatible(man, (struct ttm_resource *)res,
					     &place, exp->obj->size);
	return res->start + PFN_UP(res->size) <= lpfn;
}

/*
 * Does an importer reaching the device memory types in @reach, those in
 * @bar through the BAR, reach @res where it is? System memory, or device
 * memory of a type in @reach and, through the BAR, within the window
 * peers reach.
 */
static bool reaches(struct drm_prime_p2p_export *exp, u32 reach, u32 bar,
		    const struct ttm_resource *res)
{
	u32 type = res->mem_type;

	if (!is_device_mem(to_bo(exp)->bdev, type))
		return true;
	return reach & BIT(type) && (!(bar & BIT(type)) || in_window(exp, res));
}

static bool default_reachable(struct drm_prime_p2p_export *exp, u32 mem_type,
			      struct dma_buf_attachment *attach)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;
	struct p2pdma_provider *provider;

	if (!IS_ENABLED(CONFIG_PCI_P2PDMA) || !funcs->provider)
		return false;
	provider = funcs->provider(exp->obj, mem_type);
	if (!provider || !dev_is_pci(provider->owner))
		return false;
	return pci_p2pdma_distance(to_pci_dev(provider->owner), attach->dev,
				   false) >= 0;
}

/*
 * The device memory types of @dev_types the importer of @attach reaches;
 * *@private_types those of them it reaches over a link of the driver's
 * own (&drm_prime_p2p_funcs.private_reach), not through the BAR.
 */
static u32 importer_reach(struct drm_prime_p2p_export *exp, u32 dev_types,
			  struct dma_buf_attachment *attach, u32 *private_types)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;
	u32 reach = 0;
	unsigned long t, types = dev_types;

	*private_types = 0;
	if (!attach->peer2peer)
		return 0;
	/*
	 * Device memory goes away with the device: only an importer that can
	 * be told to let go of it (see drm_prime_p2p_revoke()) may have it,
	 * unless the driver's memory outlives every export.
	 */
	if (!funcs->pinned_p2p && !dma_buf_attach_revocable(attach)) {
		drm_dbg_prime(exp->obj->dev, "%s cannot be told to unmap: system memory only\n",
			      dev_name(attach->dev));
		return 0;
	}
	for_each_set_bit(t, &types, TTM_NUM_MEM_TYPES) {
		unsigned long lpfn;
		bool ok;

		/* Over the driver's own link: no BAR, no window. */
		if (funcs->private_reach &&
		    funcs->private_reach(exp->obj, t, attach)) {
			*private_types |= BIT(t);
			reach |= BIT(t);
			continue;
		}
		ok = funcs->reachable ? funcs->reachable(exp->obj, t, attach) :
					default_reachable(exp, t, attach);
		if (!ok)
			continue;
		/*
		 * A buffer larger than the part of the memory peers reach
		 * (a small BAR) cannot be placed there for them.
		 */
		lpfn = window_lpfn(exp->p2p, t);
		if (lpfn && exp->obj->size > (u64)lpfn << PAGE_SHIFT) {
			drm_dbg_prime(exp->obj->dev,
				      "%s: %zu bytes do not fit the %lu KiB of memory type %lu peers reach\n",
				      dev_name(attach->dev), exp->obj->size,
				      lpfn << (PAGE_SHIFT - 10), t);
			continue;
		}
		reach |= BIT(t);
	}
	return reach;
}

/*
 * Is the buffer where an importer reaching the device memory types in
 * @reach may have it, as the driver's placement @pl has it? Where its
 * resource has a place of its type with no page range, no contiguity and
 * no fallback restriction, in system memory or in device memory @reach
 * includes (within the window peers reach), that its manager finds it
 * compatible with,
 * ttm_bo_validate() would keep it there: a map of a buffer that is
 * already placed builds no placement. Anything else is left to TTM.
 */
static bool placed_for(struct drm_prime_p2p_export *exp,
		       const struct ttm_placement *pl, u32 reach, u32 bar)
{
	struct ttm_buffer_object *bo = to_bo(exp);
	struct ttm_resource *res = bo->resource;
	struct ttm_resource_manager *man;
	unsigned int i;

	if (!res || res->placement & TTM_PL_FLAG_TEMPORARY)
		return false;
	if (!reaches(exp, reach, bar, res))
		return false;
	man = ttm_manager_type(bo->bdev, res->mem_type);
	for (i = 0; i < pl->num_placement; i++) {
		const struct ttm_place *place = &pl->placement[i];

		if (place->mem_type != res->mem_type || place->fpfn ||
		    place->lpfn || place->flags & (TTM_PL_FLAG_CONTIGUOUS |
						   TTM_PL_FLAG_FALLBACK))
			continue;
		/* As ttm_resource_compatible() asks, which is not exported. */
		if (man->func->compatible &&
		    !man->func->compatible(man, res, place, bo->base.size))
			continue;
		return true;
	}
	return false;
}

/* Places kept on the stack when filtering a placement; more are allocated. */
#define P2P_STACK_PLACES	8

/*
 * Validate the object into @pl filtered for an importer reaching the device
 * memory types in @reach: every system placement, and the device
 * placements in @reach, within the window peers reach. Out of line: the
 * fast path of place_for() builds nothing on its stack.
 */
static noinline int validate_for(struct drm_prime_p2p_export *exp,
				 const struct ttm_placement *pl, u32 reach,
				 u32 bar)
{
	struct ttm_buffer_object *bo = to_bo(exp);
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct ttm_place stack[P2P_STACK_PLACES], *places = stack;
	struct ttm_placement filtered = { };
	u32 old_type = bo->resource ? bo->resource->mem_type : TTM_NUM_MEM_TYPES;
	unsigned int i, n = 0, moves = exp->moves;
	int ret;

	if (pl->num_placement > ARRAY_SIZE(stack)) {
		places = P2P_FAULT(kmalloc_array(pl->num_placement,
						 sizeof(*places), GFP_KERNEL),
				   NULL);
		if (!places)
			return -ENOMEM;
	}
	for (i = 0; i < pl->num_placement; i++) {
		struct ttm_place place = pl->placement[i];
		u32 type = place.mem_type;

		if (is_device_mem(bo->bdev, type)) {
			unsigned long lpfn = window_lpfn(exp->p2p, type);

			if (!(reach & BIT(type)))
				continue;
			/* Through the BAR only the window: place it there. */
			if (lpfn && bar & BIT(type)) {
				place.lpfn = place.lpfn ?
					     min(place.lpfn, lpfn) : lpfn;
				if (place.fpfn >= place.lpfn)
					continue;
			}
		}
		places[n++] = place;
	}
	ret = -EOPNOTSUPP;
	if (!n)
		goto out;
	filtered.num_placement = n;
	filtered.placement = places;
	ret = P2P_FAULT(p2p_validate(exp, &filtered, &ctx), -ENOMEM);
	/*
	 * Into other memory, or elsewhere in the same (into a BAR's window),
	 * as the driver's move told.
	 */
	if (!ret && bo->resource && exp->moves != moves) {
		exp->migrations++;
		trace_drm_prime_p2p_migrate(exp->dmabuf, old_type,
					    bo->resource->mem_type);
	}
out:
	if (places != stack)
		kfree(places);
	return ret;
}

/*
 * Place the object where an importer reaching the device memory types in
 * @reach can use it, unless it is there already.
 */
static int place_for(struct drm_prime_p2p_export *exp, u32 reach, u32 bar)
{
	const struct ttm_placement *pl = exp->p2p->funcs->placement(exp->obj);

	if (placed_for(exp, pl, reach, bar))
		return 0;
	return validate_for(exp, pl, reach, bar);
}

/**
 * drm_prime_p2p_dmabuf_attach - &dma_buf_ops.attach of the helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @attach: the new attachment
 *
 * Decides what the importer of @attach reaches and keeps the helper's
 * state in &dma_buf_attachment.priv, which the other callbacks need: a
 * driver that wraps this (runtime PM, its own bookkeeping) calls it, and
 * calls drm_prime_p2p_dmabuf_detach() from its detach.
 *
 * Context: process context, as the dma-buf core calls attach, the
 * reservation lock not held; takes it.
 *
 * Returns: 0, or -ENODEV after a revoke, -EOPNOTSUPP when the importer
 * reaches no memory the buffer may use, -EBUSY when the buffer is pinned
 * where it cannot reach, -EINVAL for a segment size below a page, -ENOMEM.
 */
int drm_prime_p2p_dmabuf_attach(struct dma_buf *dmabuf,
				struct dma_buf_attachment *attach)
{
	struct drm_prime_p2p_export *exp = to_exp(dmabuf);
	struct drm_prime_p2p_attach *pa;
	struct ttm_buffer_object *bo;
	struct drm_device *drm;
	u32 dev_types, reach, private_types;
	bool sys;
	int ret;

	if (WARN_ON(!exp))
		return -EINVAL;
	bo = to_bo(exp);
	drm = exp->obj->dev;

	if (dma_get_max_seg_size(attach->dev) < PAGE_SIZE) {
		drm_dbg_prime(drm, "%s: max segment size %u is below a page\n",
			      dev_name(attach->dev),
			      dma_get_max_seg_size(attach->dev));
		return -EINVAL;
	}

	pa = P2P_FAULT(kzalloc_obj(*pa), NULL);
	if (!pa)
		return -ENOMEM;
	INIT_LIST_HEAD(&pa->mappings);

	dev_types = placement_classes(exp, &sys);
	reach = importer_reach(exp, dev_types, attach, &private_types);

	ret = dma_resv_lock_interruptible(exp->obj->resv, NULL);
	if (ret)
		goto err_free;
	if (exp->revoked) {
		ret = -ENODEV;
	} else if (!reach && !sys) {
		drm_dbg_prime(drm, "%s reaches no memory the buffer may use\n",
			      dev_name(attach->dev));
		ret = -EOPNOTSUPP;
	} else if (bo->pin_count && bo->resource &&
		   !reaches(exp, reach, reach & ~private_types, bo->resource)) {
		drm_dbg_prime(drm, "%s cannot reach the memory the buffer is pinned in\n",
			      dev_name(attach->dev));
		ret = -EBUSY;
	} else {
		/* Seen by every pin from now on, under the same lock. */
		attach->peer2peer = reach != 0;
		pa->reach = reach;
		pa->private_types = private_types;
		pa->exp = exp;
		pa->attach = attach;
		attach->priv = pa;
		list_add_tail(&pa->link, &exp->attachments);
	}
	dma_resv_unlock(exp->obj->resv);
	if (ret)
		goto err_free;

	trace_drm_prime_p2p_attach(attach, reach, 0);
	return 0;

err_free:
	kfree(pa);
	trace_drm_prime_p2p_attach(attach, 0, ret);
	return ret;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_attach);

static void unmap_one(struct drm_prime_p2p_export *exp,
		      struct dma_buf_attachment *attach,
		      struct drm_prime_p2p_mapping *m);

/**
 * drm_prime_p2p_dmabuf_detach - &dma_buf_ops.detach of the helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @attach: the attachment going
 *
 * Frees what drm_prime_p2p_dmabuf_attach() kept; mappings and pins the
 * importer left are undone, with a warning.
 *
 * Context: process context, the reservation lock not held; takes it.
 */
void drm_prime_p2p_dmabuf_detach(struct dma_buf *dmabuf,
				 struct dma_buf_attachment *attach)
{
	struct drm_prime_p2p_attach *pa = to_pa(attach);
	struct drm_prime_p2p_export *exp = pa->exp;
	struct drm_prime_p2p_mapping *m, *tmp;

	dma_resv_lock(exp->obj->resv, NULL);
	list_del(&pa->link);
	/*
	 * An importer that detaches with mappings or pins left is buggy: say
	 * so, and release them, so that the buffer is neither left mapped nor
	 * pinned for good.
	 */
	if (WARN(pa->maps != pa->unmaps || pa->pins,
		 "%s detached with %u maps, %u unmaps and %u pins\n",
		 dev_name(attach->dev), pa->maps, pa->unmaps, pa->pins)) {
		list_for_each_entry_safe(m, tmp, &pa->mappings, link)
			unmap_one(exp, attach, m);
		for (; pa->pins; pa->pins--)
			p2p_unpin_bo(exp);
	}
	dma_resv_unlock(exp->obj->resv);
	kvfree(pa->spare);
	kfree(pa);
	attach->priv = NULL;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_detach);

static bool ranges_addressable(struct device *dev, const struct phys_vec *vec,
			       unsigned int nr);
static bool dma_translated(struct device *dev);
static bool end_addressable(struct device *dev, phys_addr_t end);
static int get_ranges(struct drm_prime_p2p_export *exp,
		      struct ttm_resource *res, struct phys_vec **ranges);

/*
 * Does the importer of @attach need system memory in one physical range?
 * One whose DMA is not translated, unless its DMA is bounced anyway
 * (swiotlb=force, a confidential-computing guest): bounce buffers are
 * scattered whatever the pages are.
 */
static bool wants_contiguous(struct drm_prime_p2p_export *exp,
			     struct dma_buf_attachment *attach)
{
	return exp->p2p->funcs->contiguous_placement &&
	       !dma_translated(attach->dev) &&
	       !is_swiotlb_force_bounce(attach->dev);
}

/*
 * Pin in system memory for @attach: in the driver's physically contiguous
 * placement first when the importer wants_contiguous(), in any system
 * placement otherwise or when that cannot be had.
 */
static int place_system(struct drm_prime_p2p_export *exp,
			struct dma_buf_attachment *attach)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;
	struct ttm_operation_ctx ctx = { .interruptible = true };
	struct ttm_buffer_object *bo = to_bo(exp);
	const struct ttm_placement *pl;
	struct ttm_placement contig;
	struct phys_vec vec;
	unsigned int moves = exp->moves;
	u32 old_type;
	bool sys;
	int ret;

	placement_classes(exp, &sys);
	if (!sys || !wants_contiguous(exp, attach))
		return place_for(exp, 0, 0);
	pl = funcs->contiguous_placement(exp->obj);
	if (!pl || !pl->num_placement)
		return place_for(exp, 0, 0);
	/* A shallow copy: validation takes a non-const placement. */
	contig = *pl;
	old_type = bo->resource ? bo->resource->mem_type : TTM_NUM_MEM_TYPES;
	ret = P2P_FAULT(p2p_validate(exp, &contig, &ctx), -ENOMEM);
	if (ret == -ENOMEM || ret == -ENOSPC) {
		drm_dbg_prime(exp->obj->dev,
			      "%s: no contiguous system memory for %zu bytes (%d): pinned in pages\n",
			      dev_name(attach->dev), exp->obj->size, ret);
		return place_for(exp, 0, 0);
	}
	if (ret)
		return ret;
	if (exp->moves != moves) {
		exp->migrations++;
		trace_drm_prime_p2p_migrate(exp->dmabuf, old_type,
					    bo->resource->mem_type);
	}
	/*
	 * The driver allocates for its own device: an importer with a
	 * narrower mask gets the range bounced, in pieces.
	 */
	vec.paddr = page_to_phys(bo->ttm->pages[0]);
	vec.len = exp->obj->size;
	if (!ranges_addressable(attach->dev, &vec, 1))
		drm_dbg_prime(exp->obj->dev,
			      "%s: contiguous memory at %pa is beyond its DMA mask\n",
			      dev_name(attach->dev), &vec.paddr);
	return 0;
}

/*
 * Can every importer address the device memory @res? Not one whose DMA is
 * not translated and whose mask stops short of it: for a pin, which is for
 * good, that importer's map would find the buffer stuck where it cannot
 * map it. Returns 1 if they all can, 0 if one cannot, or a negative error
 * code from the driver's resource_ranges.
 */
static int importers_address(struct drm_prime_p2p_export *exp,
			     struct ttm_resource *res)
{
	struct drm_prime_p2p_attach *pa;
	struct phys_vec *vec;
	int nr;

	nr = get_ranges(exp, res, &vec);
	if (nr < 0)
		return nr;
	list_for_each_entry(pa, &exp->attachments, link) {
		/* The driver maps for those over its own link. */
		if (pa->private_types & BIT(res->mem_type))
			continue;
		if (!end_addressable(pa->attach->dev, exp->ranges_end))
			return 0;
	}
	return 1;
}

/**
 * drm_prime_p2p_dmabuf_pin - &dma_buf_ops.pin of the helper's exports
 * @attach: the attachment that pins
 *
 * Places the buffer where every importer reaches it (device memory when
 * they all reach it peer-to-peer and may have it, else system memory:
 * physically contiguous for an importer that needs one range), pins it
 * there with &drm_prime_p2p_funcs.pin, or ttm_bo_pin(), and waits for the
 * kernel's fences of that memory (a pipelined move or clear).
 *
 * Context: the reservation lock held, as the dma-buf core holds it.
 *
 * Returns: 0, or -ENODEV after a revoke, -EBUSY when it is pinned where an
 * importer cannot reach it (or the driver's pin moved it) or must stay in
 * device memory beyond an importer's DMA mask, -ENOSPC when validation
 * left it beyond the window an importer reaches, or the error of the
 * validation, the pin or the wait.
 */
int drm_prime_p2p_dmabuf_pin(struct dma_buf_attachment *attach)
{
	struct drm_prime_p2p_export *exp = to_pa(attach)->exp;
	struct ttm_buffer_object *bo = to_bo(exp);
	struct drm_prime_p2p_attach *pa;
	u32 reach = ~0u, bar = 0;
	long wait;
	int ret;

	dma_resv_assert_held(exp->obj->resv);
	if (exp->revoked)
		return -ENODEV;

	/*
	 * Pinned where every importer, listed by the core or not yet, reaches
	 * it: within the window where one of them goes through the BAR.
	 */
	list_for_each_entry(pa, &exp->attachments, link) {
		reach &= attach_reach(pa);
		bar |= attach_bar(pa);
	}

	if (bo->pin_count) {
		u32 type = bo->resource->mem_type;

		if (!reaches(exp, reach, bar, bo->resource)) {
			drm_dbg_prime(exp->obj->dev, "%s: pinned out of reach\n",
				      dev_name(attach->dev));
			return -EBUSY;
		}
		if (is_device_mem(bo->bdev, type)) {
			ret = importers_address(exp, bo->resource);
			if (ret < 0)
				return ret;
			if (!ret) {
				drm_dbg_prime(exp->obj->dev,
					      "%s: pinned beyond an importer's DMA mask\n",
					      dev_name(attach->dev));
				return -EBUSY;
			}
		}
	} else {
		bool sys;
		u32 dev_types = placement_classes(exp, &sys);

		ret = reach & dev_types ? place_for(exp, reach, bar) :
					  place_system(exp, attach);
		/*
		 * Reached device memory was full, or the buffer stays in system
		 * memory it already had: contiguous, if this importer wants it.
		 */
		if (!ret && reach & dev_types && wants_contiguous(exp, attach) &&
		    !is_device_mem(bo->bdev, bo->resource->mem_type))
			ret = place_system(exp, attach);
		if (ret)
			return ret;
		/* As in map: never pin where an importer does not reach. */
		if (!reaches(exp, reach, bar, bo->resource)) {
			drm_dbg_prime(exp->obj->dev,
				      "%s: validated out of the window they reach\n",
				      dev_name(attach->dev));
			return -ENOSPC;
		}
		if (is_device_mem(bo->bdev, bo->resource->mem_type)) {
			ret = importers_address(exp, bo->resource);
			if (ret < 0)
				return ret;
			if (!ret && !sys) {
				drm_dbg_prime(exp->obj->dev,
					      "%s: device memory beyond an importer's DMA mask, and the buffer cannot leave it\n",
					      dev_name(attach->dev));
				return -EBUSY;
			}
			if (!ret) {
				drm_dbg_prime(exp->obj->dev,
					      "device memory beyond an importer's DMA mask: pinned in system memory\n");
				ret = place_system(exp, attach);
				if (ret)
					return ret;
			}
		}
	}
	ret = p2p_pin_bo(exp);
	if (ret)
		return ret;
	/*
	 * The memory must be usable when pin returns: a move (or clear) the
	 * driver pipelined behind a fence must be done.
	 */
	wait = dma_resv_wait_timeout(exp->obj->resv, DMA_RESV_USAGE_KERNEL,
				     true, MAX_SCHEDULE_TIMEOUT);
	if (wait < 0) {
		p2p_unpin_bo(exp);
		return wait;
	}
	to_pa(attach)->pins++;
	return 0;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_pin);

/**
 * drm_prime_p2p_dmabuf_unpin - &dma_buf_ops.unpin of the helper's exports
 * @attach: the attachment that pinned
 *
 * Context: the reservation lock held, as the dma-buf core holds it.
 */
void drm_prime_p2p_dmabuf_unpin(struct dma_buf_attachment *attach)
{
	struct drm_prime_p2p_export *exp = to_pa(attach)->exp;

	dma_resv_assert_held(exp->obj->resv);
	if (WARN_ON(!to_pa(attach)->pins))
		return;
	to_pa(attach)->pins--;
	p2p_unpin_bo(exp);
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_unpin);

/**
 * drm_prime_p2p_contiguous_ranges - &drm_prime_p2p_funcs.resource_ranges of
 *	a driver whose device memory resources are contiguous
 * @obj: the buffer
 * @res: its resource in device memory
 * @ranges: set to one range, allocated with kvmalloc()
 *
 * One range of the object's size at the bus offset ttm_mem_io_reserve()
 * gives. Correct only where every resource of device memory is one
 * physically contiguous range: TTM's range manager, or placements with
 * %TTM_PL_FLAG_CONTIGUOUS. A driver whose manager may scatter a resource
 * (a buddy allocator) describes it with its own hook. Nor for a driver
 * with &ttm_device_funcs.io_mem_free, whose bus windows an unrelated
 * kunmap can tear down under an importer's mapping: that one too says
 * itself what stays mapped.
 *
 * Context: the reservation lock of @obj held; calls the driver's
 * &ttm_device_funcs.io_mem_reserve.
 *
 * Returns: 1, or -EINVAL when @res is not I/O memory, -ENOMEM.
 */
int drm_prime_p2p_contiguous_ranges(struct drm_gem_object *obj,
				    struct ttm_resource *res,
				    struct phys_vec **ranges)
{
	struct ttm_buffer_object *bo = drm_gem_ttm_of_gem(obj);
	struct phys_vec *vec;
	int ret;

	dma_resv_assert_held(obj->resv);
	if (WARN_ON_ONCE(bo->bdev->funcs->io_mem_free))
		return -EINVAL;
	ret = P2P_FAULT(ttm_mem_io_reserve(bo->bdev, res), -ENOMEM);
	if (ret)
		return ret;
	if (!res->bus.is_iomem)
		return -EINVAL;
	vec = P2P_FAULT(kvmalloc_obj(*vec), NULL);
	if (!vec)
		return -ENOMEM;
	vec->paddr = res->bus.offset;
	vec->len = obj->size;
	*ranges = vec;
	return 1;
}
EXPORT_SYMBOL(drm_prime_p2p_contiguous_ranges);

/*
 * Device memory that is RAM (a virtual device's, coherent device memory)
 * has struct pages in the memory map, and the DMA API maps it as RAM. A
 * BAR may have struct pages too, P2PDMA's ZONE_DEVICE pages
 * (pci_p2pdma_add_resource()): it is MMIO all the same, never to be
 * bounced or synced as RAM.
 */
static bool phys_is_ram(phys_addr_t paddr)
{
	unsigned long pfn = PHYS_PFN(paddr);

	return pfn_valid(pfn) && !is_pci_p2pdma_page(pfn_to_page(pfn));
}

/*
 * Does the DMA API map @dev's DMA through an IOMMU, at an IOVA it allocates
 * within the device's mask? Not when the device's domain does not translate
 * (identity: iommu=pt, or its group set so): then it maps directly, as
 * without an IOMMU. Where the DMA API has no IOMMU layer of its own
 * (no IOMMU_DMA), an IOMMU the device is behind is the architecture's to
 * use.
 */
static bool dma_translated(struct device *dev)
{
	if (!device_iommu_mapped(dev))
		return false;
	return !IS_ENABLED(CONFIG_IOMMU_DMA) || use_dma_iommu(dev);
}

/*
 * Device memory beyond the importer's mask is out of reach, unless the
 * importer's DMA is translated (see dma_translated()).
 */
static bool end_addressable(struct device *dev, phys_addr_t end)
{
	return end <= min_not_zero(dma_get_mask(dev), dev->bus_dma_limit) ||
	       dma_translated(dev);
}

static bool ranges_addressable(struct device *dev, const struct phys_vec *vec,
			       unsigned int nr)
{
	phys_addr_t end = 0;
	unsigned int i;

	for (i = 0; i < nr; i++)
		end = max(end, vec[i].paddr + vec[i].len - 1);
	return end_addressable(dev, end);
}

/*
 * The longest segment one DMA mapping of RAM for @dev may have: its maximum
 * segment size, and what one mapping can take where it is bounced (swiotlb
 * maps at most swiotlb_max_mapping_size() at once), in whole pages.
 */
static size_t map_limit(struct device *dev)
{
	size_t max = min_t(size_t, dma_get_max_seg_size(dev),
			   dma_max_mapping_size(dev));

	return max_t(size_t, ALIGN_DOWN(max, PAGE_SIZE), PAGE_SIZE);
}

/*
 * Count, then fill, sg entries: adjacent ranges merged, each at most @max
 * and not crossing the segment boundary @boundary (a mask).
 */
static unsigned int fill_dma_sg(struct scatterlist *sgl,
				const struct drm_prime_p2p_dma_range *dma,
				unsigned int nr, size_t max,
				unsigned long boundary)
{
	unsigned int i, nents = 0;
	dma_addr_t addr = 0;
	size_t len = 0;

	for (i = 0; i <= nr; i++) {
		if (i < nr && len && dma[i].addr == addr + len) {
			len += dma[i].len;
			continue;
		}
		while (len) {
			size_t seg = min(len, max);

			if (boundary != ULONG_MAX)
				seg = min_t(u64, seg,
					    ((u64)addr | boundary) - addr + 1);
			if (sgl) {
				sg_set_page(sgl, NULL, 0, 0);
				sg_dma_address(sgl) = addr;
				sg_dma_len(sgl) = seg;
				sgl = sg_next(sgl);
			}
			nents++;
			addr += seg;
			len -= seg;
		}
		if (i < nr) {
			addr = dma[i].addr;
			len = dma[i].len;
		}
	}
	return nents;
}

/* How a range is mapped: as MMIO, unless it is RAM (see phys_is_ram()). */
static unsigned long range_attrs(const struct phys_vec *vec)
{
	return phys_is_ram(vec->paddr) ? 0 :
	       DMA_ATTR_MMIO | DMA_ATTR_SKIP_CPU_SYNC;
}

static void drop_ranges(struct drm_prime_p2p_export *exp)
{
	kvfree(exp->ranges);
	exp->ranges = NULL;
	exp->nr_ranges = 0;
	exp->ranges_res = NULL;
}

/*
 * The physical ranges of @res, from the driver once per resource. Valid
 * until the reservation lock is dropped. Returns their number or a
 * negative error code.
 */
static int get_ranges(struct drm_prime_p2p_export *exp,
		      struct ttm_resource *res, struct phys_vec **ranges)
{
	struct phys_vec *vec = NULL;
	int i, nr;

	dma_resv_assert_held(exp->obj->resv);
	/*
	 * The resource is the one the ranges were asked for: the same object
	 * at the same place. A driver that freed it without telling
	 * drm_prime_p2p_move_notify() (see there) and got another at the
	 * same address elsewhere is caught; not one whose manager scatters
	 * and gave another layout at the same start: that driver must tell.
	 */
	if (!exp->ranges || exp->ranges_res != res ||
	    exp->ranges_start != res->start || exp->ranges_size != res->size ||
	    exp->ranges_type != res->mem_type) {
		drop_ranges(exp);
		nr = exp->p2p->funcs->resource_ranges(exp->obj, res, &vec);
		if (nr <= 0) {
			kvfree(vec);
			return nr ?: -EINVAL;
		}
		exp->ranges = vec;
		exp->nr_ranges = nr;
		exp->ranges_res = res;
		exp->ranges_start = res->start;
		exp->ranges_size = res->size;
		exp->ranges_type = res->mem_type;
		exp->ranges_attrs = range_attrs(&vec[0]);
		exp->ranges_end = 0;
		exp->ranges_max = 0;
		for (i = 0; i < nr; i++) {
			if (range_attrs(&vec[i]) != exp->ranges_attrs)
				exp->ranges_attrs = ULONG_MAX;
			exp->ranges_end = max(exp->ranges_end,
					      vec[i].paddr + vec[i].len - 1);
			exp->ranges_max = max(exp->ranges_max, vec[i].len);
		}
	}
	*ranges = exp->ranges;
	return exp->nr_ranges;
}

/*
 * Where the importer's DMA is translated, link the @nr ranges into one
 * IOVA range (one allocation, one IOTLB sync) instead of mapping each at an
 * IOVA of its own: the importer gets as few entries as its segment limits
 * allow, whatever the layout of the memory. For ranges of MMIO (the
 * attributes in @m set) aligned to the IOMMU's granule. The unmap
 * (dma_iova_destroy()) flushes the IOTLB there and then, where
 * dma_unmap_phys() may leave it to the IOMMU's flush queue: one flush per
 * buffer against one deferred per range. Returns 0 when done, 1 when the
 * DMA API must map them one by one, or a negative error.
 */
static int map_iova(struct dma_buf_attachment *attach,
		    const struct phys_vec *vec, unsigned int nr,
		    enum dma_data_direction dir,
		    struct drm_prime_p2p_mapping *m)
{
	unsigned long merge_mask = dma_get_merge_boundary(attach->dev);
	struct drm_prime_p2p_dma_range *dma = m->dma;
	unsigned long attrs = dma[0].attrs;
	size_t total = 0, off = 0;
	unsigned int i;
	int ret;

	if (!merge_mask)
		return 1;
	for (i = 0; i < nr; i++) {
		if ((vec[i].paddr | vec[i].len) & merge_mask)
			return 1;
		total += vec[i].len;
	}
	if (!dma_iova_try_alloc(attach->dev, &m->iova, 0, total))
		return 1;
	for (i = 0; i < nr; i++) {
		ret = P2P_FAULT(dma_iova_link(attach->dev, &m->iova,
					      vec[i].paddr, off, vec[i].len,
					      dir, attrs), -ENOMEM);
		if (ret)
			goto err;
		dma[i].addr = m->iova.addr + off;
		off += vec[i].len;
	}
	ret = P2P_FAULT(dma_iova_sync(attach->dev, &m->iova, 0, total),
			-EIO);
	if (ret)
		goto err;
	return 0;

err:
	dma_iova_destroy(attach->dev, &m->iova, off, dir, attrs);
	memset(&m->iova, 0, sizeof(m->iova));
	return ret;
}

static void unmap_dma(struct device *dev, struct drm_prime_p2p_mapping *m,
		      unsigned int nr, enum dma_data_direction dir,
		      unsigned long attrs)
{
	if (dma_use_iova(&m->iova)) {
		dma_iova_destroy(dev, &m->iova, dma_iova_size(&m->iova), dir,
				 m->dma[0].attrs | attrs);
		return;
	}
	while (nr--)
		dma_unmap_phys(dev, m->dma[nr].addr, m->dma[nr].len, dir,
			       m->dma[nr].attrs | attrs);
}

/*
 * The sg entries @nr ranges, none longer than @max_len, take at most when
 * cut at the segment size @max: each one where none is longer. Merging
 * adjacent ones only takes fewer; a segment boundary may take more, which
 * only a count after the mapping tells.
 */
static size_t max_entries(const struct phys_vec *vec, unsigned int nr,
			  size_t max_len, size_t max)
{
	size_t n = 0;
	unsigned int i;

	if (max_len <= max)
		return nr;
	for (i = 0; i < nr; i++)
		n += DIV_ROUND_UP(vec[i].len, max);
	return n;
}

/*
 * Map @nr ranges, of @attrs each (ULONG_MAX: each its own), in one
 * allocation with the sg table that describes them: in one IOVA range or
 * each with dma_map_phys(), adjacent ones merged into one entry. Where
 * the importer's segment boundary cuts them into more entries than that
 * allocation holds, the table gets entries of its own.
 */
static struct drm_prime_p2p_mapping *
map_resource(struct dma_buf_attachment *attach, const struct phys_vec *vec,
	     unsigned int nr, size_t max_len, unsigned long attrs,
	     enum dma_data_direction dir)
{
	struct drm_prime_p2p_attach *pa = to_pa(attach);
	size_t max = ALIGN_DOWN(dma_get_max_seg_size(attach->dev), PAGE_SIZE);
	unsigned long boundary = dma_get_seg_boundary(attach->dev);
	struct drm_prime_p2p_mapping *m;
	struct drm_prime_p2p_dma_range *dma;
	size_t sg_off, ents, size;
	unsigned int i, nents;
	int ret = 1;

	max = min_t(size_t, max, ALIGN_DOWN(UINT_MAX, PAGE_SIZE));
	if (pa->exp->p2p->funcs->max_segment)
		max = min(max, pa->exp->p2p->funcs->max_segment);
	ents = max_entries(vec, nr, max_len, max);
	sg_off = ALIGN(struct_size(m, dma, nr), __alignof__(struct scatterlist));
	size = size_add(sg_off, array_size(ents, sizeof(struct scatterlist)));
	if (ents > UINT_MAX || size == SIZE_MAX)
		return ERR_PTR(-E2BIG);
	/* The last mapping's memory, unless it is too small or far too big. */
	m = pa->spare;
	pa->spare = NULL;
	if (m && (m->size < size || m->size / 2 > size)) {
		kvfree(m);
		m = NULL;
	}
	if (m) {
		size = m->size;
	} else {
		/* kvmalloc() only where kmalloc() has no cache: it costs more. */
		m = P2P_FAULT(size <= KMALLOC_MAX_CACHE_SIZE ?
			      kmalloc(size, GFP_KERNEL) :
			      kvmalloc(size, GFP_KERNEL), NULL);
		if (!m)
			return ERR_PTR(-ENOMEM);
	}
	memset(m, 0, sizeof(*m));
	m->size = size;
	m->nr = nr;
	m->ents = ents;
	dma = m->dma;
	/*
	 * Several ranges of MMIO, translated: one IOVA range. Not RAM: the
	 * DMA API syncs only what dma_map_*() mapped, and RAM is synced.
	 */
	if (nr > 1 && attrs != ULONG_MAX && attrs & DMA_ATTR_MMIO &&
	    dma_translated(attach->dev)) {
		for (i = 0; i < nr; i++) {
			dma[i].attrs = attrs;
			dma[i].len = vec[i].len;
		}
		ret = map_iova(attach, vec, nr, dir, m);
		if (ret < 0)
			goto err_free;
	}
	for (i = 0; ret > 0 && i < nr; i++) {
		/*
		 * MMIO as dma_map_resource() does; device memory that is RAM
		 * (a virtual device's, coherent memory) is mapped as RAM,
		 * synced as RAM: it may be bounced.
		 */
		dma[i].attrs = attrs != ULONG_MAX ? attrs : range_attrs(&vec[i]);
		dma[i].len = vec[i].len;
		dma[i].addr = P2P_FAULT(dma_map_phys(attach->dev, vec[i].paddr,
						     vec[i].len, dir,
						     dma[i].attrs),
					DMA_MAPPING_ERROR);
		if (dma_mapping_error(attach->dev, dma[i].addr)) {
			unmap_dma(attach->dev, m, i, dir, 0);
			ret = -EIO;
			goto err_free;
		}
	}

	nents = boundary == ULONG_MAX ? ents :
		fill_dma_sg(NULL, dma, nr, max, boundary);
	if (!nents) {
		ret = -EINVAL;
		goto err_unmap;
	}
	if (nents <= ents) {
		m->table.sgl = (void *)m + sg_off;
		sg_init_table(m->table.sgl, ents);
	} else {
		ret = P2P_FAULT(sg_alloc_table(&m->table, nents, GFP_KERNEL),
				-ENOMEM);
		if (ret)
			goto err_unmap;
		m->own_sgl = true;
	}
	nents = fill_dma_sg(m->table.sgl, dma, nr, max, boundary);
	if (!m->own_sgl) {
		if (WARN_ON(nents > ents) || !nents) {
			ret = -EINVAL;
			goto err_unmap;
		}
		sg_mark_end(&m->table.sgl[nents - 1]);
		m->table.nents = nents;
		m->table.orig_nents = nents;
	}
	return m;

err_unmap:
	unmap_dma(attach->dev, m, nr, dir, 0);
err_free:
	kvfree(m);
	return ERR_PTR(ret);
}

/* Split ranges longer than @max: what one DMA mapping of bounced RAM takes. */
static struct phys_vec *split_ranges(const struct phys_vec *vec,
				     unsigned int nr, size_t max,
				     unsigned int *out)
{
	unsigned int i, n = 0;
	struct phys_vec *split;

	for (i = 0; i < nr; i++)
		n += DIV_ROUND_UP(vec[i].len, max);
	split = P2P_FAULT(kvmalloc_objs(*split, n), NULL);
	if (!split)
		return NULL;
	n = 0;
	for (i = 0; i < nr; i++) {
		phys_addr_t p = vec[i].paddr;
		size_t left = vec[i].len;

		while (left) {
			size_t seg = min(left, max);

			split[n].paddr = p;
			split[n++].len = seg;
			p += seg;
			left -= seg;
		}
	}
	*out = n;
	return split;
}

static struct drm_prime_p2p_mapping *
map_device(struct drm_prime_p2p_export *exp, struct dma_buf_attachment *attach,
	   struct ttm_resource *res, enum dma_data_direction dir)
{
	const struct drm_prime_p2p_funcs *funcs = exp->p2p->funcs;
	bool private = to_pa(attach)->private_types & BIT(res->mem_type);
	struct p2pdma_provider *provider = NULL;
	struct drm_prime_p2p_mapping *m;
	struct phys_vec *vec, *split = NULL;
	struct sg_table *sgt;
	unsigned int nsplit;
	size_t max_len;
	int nr;

	nr = get_ranges(exp, res, &vec);
	if (nr < 0)
		return ERR_PTR(nr);
	/* Over a private link the driver maps, and knows what it reaches. */
	if (!private && !end_addressable(attach->dev, exp->ranges_end))
		return ERR_PTR(-ERANGE);

	/*
	 * An importer over a private link has no DMA address of the memory
	 * unless the driver makes one: amdgpu's XGMI importers use the
	 * exporter's resource directly, and its map refuses them.
	 */
	if (private && !funcs->map_ranges) {
		drm_dbg_prime(exp->obj->dev,
			      "%s reaches memory type %u over the driver's link: no DMA mapping\n",
			      dev_name(attach->dev), res->mem_type);
		return ERR_PTR(-EOPNOTSUPP);
	}
	if (funcs->provider && !private)
		provider = funcs->provider(exp->obj, res->mem_type);
	if (provider || funcs->map_ranges) {
		m = P2P_FAULT(kzalloc_obj(*m), NULL);
		if (!m)
			return ERR_PTR(-ENOMEM);
		if (provider) {
			/* It splits at the importer's segment limits itself. */
			sgt = P2P_FAULT(dma_buf_phys_vec_to_sgt_seg(attach,
								    provider,
								    vec, nr,
								    exp->obj->size,
								    dir,
								    funcs->max_segment),
					ERR_PTR(-ENOMEM));
			m->kind = DRM_PRIME_P2P_MAP_PCI;
		} else {
			sgt = funcs->map_ranges(attach, vec, nr, dir);
			m->kind = DRM_PRIME_P2P_MAP_DRIVER;
		}
		if (IS_ERR(sgt)) {
			kfree(m);
			return ERR_CAST(sgt);
		}
		m->sgt = sgt;
		return m;
	}

	/* One dma_map_phys() of RAM (it may be bounced) takes a limited size. */
	max_len = exp->ranges_max;
	if (exp->ranges_attrs != (DMA_ATTR_MMIO | DMA_ATTR_SKIP_CPU_SYNC) &&
	    max_len > dma_max_mapping_size(attach->dev)) {
		max_len = map_limit(attach->dev);
		split = split_ranges(vec, nr, max_len, &nsplit);
		if (!split)
			return ERR_PTR(-ENOMEM);
		vec = split;
		nr = nsplit;
	}
	m = map_resource(attach, vec, nr, max_len, exp->ranges_attrs, dir);
	kvfree(split);
	if (IS_ERR(m))
		return m;
	m->kind = DRM_PRIME_P2P_MAP_RESOURCE;
	m->sgt = &m->table;
	return m;
}

static struct drm_prime_p2p_mapping *
map_pages(struct drm_prime_p2p_export *exp, struct dma_buf_attachment *attach,
	  enum dma_data_direction dir)
{
	struct ttm_buffer_object *bo = to_bo(exp);
	struct ttm_operation_ctx ctx = { .interruptible = true };
	size_t max = map_limit(attach->dev);
	struct drm_prime_p2p_mapping *m;
	int ret;

	ret = P2P_FAULT(ttm_bo_populate(bo, &ctx), -ENOMEM);
	if (ret)
		return ERR_PTR(ret);
	/*
	 * The object's pages only: a driver's ttm_tt may hold more (xe's CCS
	 * metadata), which are not the importer's to see.
	 */
	if (!bo->ttm || !bo->ttm->pages ||
	    bo->ttm->num_pages < PFN_UP(exp->obj->size))
		return ERR_PTR(-EINVAL);

	m = P2P_FAULT(kzalloc_obj(*m), NULL);
	if (!m)
		return ERR_PTR(-ENOMEM);
	ret = P2P_FAULT(sg_alloc_table_from_pages_segment(&m->table,
							  bo->ttm->pages,
							  PFN_UP(exp->obj->size),
							  0, exp->obj->size, max,
							  GFP_KERNEL),
			-ENOMEM);
	if (ret)
		goto err_free;
	/*
	 * Synced: where the importer's DMA is bounced (swiotlb: a narrow DMA
	 * mask, a confidential-computing guest) the bounce buffer must get
	 * what the CPU wrote, and give back at unmap what the device wrote.
	 */
	ret = P2P_FAULT(dma_map_sgtable(attach->dev, &m->table, dir, 0),
			-ENOMEM);
	if (ret)
		goto err_table;
	m->kind = DRM_PRIME_P2P_MAP_PAGES;
	m->sgt = &m->table;
	return m;

err_table:
	sg_free_table(&m->table);
err_free:
	kfree(m);
	return ERR_PTR(ret);
}

/**
 * drm_prime_p2p_dmabuf_map - &dma_buf_ops.map_dma_buf of the helper's exports
 * @attach: the attachment to map for
 * @dir: the direction of the DMA
 *
 * Places an unpinned buffer where the importer reaches it, migrating it
 * when it must, and maps it for the importer's device: device memory as
 * its physical ranges, system memory as its pages.
 *
 * Context: the reservation lock held, as the dma-buf core holds it.
 *
 * Returns: the sg table, or an ERR_PTR: -ENODEV after a revoke, -EBUSY
 * when it is pinned out of the importer's reach, -ENOSPC when validation
 * left it beyond the window the importer reaches, -ERANGE when it cannot
 * leave device memory beyond the importer's DMA mask, -EOPNOTSUPP for an
 * importer over the driver's own link without &drm_prime_p2p_funcs.map_ranges,
 * the error of the validation or of the DMA API.
 */
struct sg_table *drm_prime_p2p_dmabuf_map(struct dma_buf_attachment *attach,
					  enum dma_data_direction dir)
{
	struct drm_prime_p2p_attach *pa = to_pa(attach);
	struct drm_prime_p2p_export *exp = pa->exp;
	struct ttm_buffer_object *bo = to_bo(exp);
	struct drm_prime_p2p_mapping *m;
	struct sg_table *sgt;
	int ret;

	dma_resv_assert_held(exp->obj->resv);
	if (exp->revoked)
		return ERR_PTR(-ENODEV);

	if (!bo->pin_count) {
		ret = place_for(exp, attach_reach(pa), attach_bar(pa));
		if (ret)
			goto err;
		/*
		 * TTM keeps a buffer whose manager has no compatible() where
		 * it is, page range or not, and a driver's validate may place
		 * as it likes: never map what the importer does not reach.
		 */
		if (!reaches(exp, attach_reach(pa), attach_bar(pa),
			     bo->resource)) {
			drm_dbg_prime(exp->obj->dev,
				      "%s: validated out of the window it reaches\n",
				      dev_name(attach->dev));
			ret = -ENOSPC;
			goto err;
		}
	} else if (!reaches(exp, attach_reach(pa), attach_bar(pa),
			    bo->resource)) {
		drm_dbg_prime(exp->obj->dev, "%s: pinned out of reach\n",
			      dev_name(attach->dev));
		ret = -EBUSY;
		goto err;
	}

	if (is_device_mem(bo->bdev, bo->resource->mem_type)) {
		m = map_device(exp, attach, bo->resource, dir);
		if (m == ERR_PTR(-ERANGE)) {
			bool sys;

			/* Reachable, but not within the importer's mask. */
			placement_classes(exp, &sys);
			if (bo->pin_count || !sys) {
				drm_dbg_prime(exp->obj->dev,
					      "%s: VRAM beyond DMA mask, buffer stuck there\n",
					      dev_name(attach->dev));
				ret = -ERANGE;
				goto err;
			}
			drm_dbg_prime(exp->obj->dev, "%s: VRAM beyond DMA mask, migrating\n",
				      dev_name(attach->dev));
			ret = place_for(exp, 0, 0);
			if (ret)
				goto err;
			m = map_pages(exp, attach, dir);
		}
	} else {
		m = map_pages(exp, attach, dir);
	}
	if (IS_ERR(m)) {
		ret = PTR_ERR(m);
		goto err;
	}

	m->dir = dir;
	sgt = m->sgt;
	list_add(&m->link, &pa->mappings);
	pa->maps++;
	pa->kind = m->kind;
	pa->nents = sgt->nents;
	/*
	 * Revoke waits for mappings of device memory (system memory does not
	 * go with the device), but not for those of importers that cannot be
	 * told where the driver says its memory outlives every export.
	 */
	m->waited = m->kind != DRM_PRIME_P2P_MAP_PAGES &&
		    (!exp->p2p->funcs->pinned_p2p ||
		     dma_buf_attach_revocable(attach));
	if (m->waited)
		atomic_inc(&exp->p2p->device_mapped);
	trace_drm_prime_p2p_map(attach, bo->resource->mem_type, m->kind,
				sgt->nents, 0);
	return sgt;

err:
	trace_drm_prime_p2p_map(attach, bo->resource ? bo->resource->mem_type : 0,
				DRM_PRIME_P2P_MAP_NONE, 0, ret);
	return ERR_PTR(ret);
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_map);

static void unmap_one(struct drm_prime_p2p_export *exp,
		      struct dma_buf_attachment *attach,
		      struct drm_prime_p2p_mapping *m)
{
	struct drm_prime_p2p_attach *pa = to_pa(attach);
	enum dma_data_direction dir = m->dir;
	struct sg_table *sgt = m->sgt;

	trace_drm_prime_p2p_unmap(attach, to_bo(exp)->resource ?
				  to_bo(exp)->resource->mem_type : 0,
				  m->kind, sgt->nents, 0);

	switch (m->kind) {
	case DRM_PRIME_P2P_MAP_PCI:
		dma_buf_free_sgt(attach, sgt, dir);
		break;
	case DRM_PRIME_P2P_MAP_DRIVER:
		exp->p2p->funcs->unmap_ranges(attach, sgt, dir);
		break;
	case DRM_PRIME_P2P_MAP_RESOURCE:
		/* The table's entries are part of the mapping's allocation. */
		unmap_dma(attach->dev, m, m->nr, dir,
			  m->stale ? DMA_ATTR_SKIP_CPU_SYNC : 0);
		if (m->own_sgl)
			sg_free_table(sgt);
		break;
	case DRM_PRIME_P2P_MAP_PAGES:
		dma_unmap_sgtable(attach->dev, sgt, dir,
				  m->stale ? DMA_ATTR_SKIP_CPU_SYNC : 0);
		sg_free_table(sgt);
		break;
	default:
		WARN_ON(1);
	}
	list_del(&m->link);
	pa->unmaps++;
	if (m->waited && atomic_dec_and_test(&exp->p2p->device_mapped)) {
		/*
		 * atomic_dec_and_test() is fully ordered: a revoke that waits
		 * sees the count drop, or is on the queue here.
		 */
		if (waitqueue_active(&exp->p2p->unmapped))
			wake_up_all(&exp->p2p->unmapped);
	}
	if (m->kind == DRM_PRIME_P2P_MAP_RESOURCE && !pa->spare)
		pa->spare = m;
	else
		kvfree(m);
}

/**
 * drm_prime_p2p_dmabuf_unmap - &dma_buf_ops.unmap_dma_buf of the helper's
 *	exports
 * @attach: the attachment the table was mapped for
 * @sgt: the table drm_prime_p2p_dmabuf_map() gave
 * @dir: the direction it was mapped with
 *
 * Context: the reservation lock held, as the dma-buf core holds it.
 */
void drm_prime_p2p_dmabuf_unmap(struct dma_buf_attachment *attach,
				struct sg_table *sgt,
				enum dma_data_direction dir)
{
	struct drm_prime_p2p_export *exp = to_pa(attach)->exp;
	struct drm_prime_p2p_mapping *m;

	dma_resv_assert_held(exp->obj->resv);
	list_for_each_entry(m, &to_pa(attach)->mappings, link) {
		if (m->sgt == sgt) {
			WARN_ON(m->dir != dir);
			unmap_one(exp, attach, m);
			return;
		}
	}
	WARN(1, "%s: unmap of a table this attachment was not given\n",
	     dev_name(attach->dev));
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_unmap);

/**
 * drm_prime_p2p_dmabuf_release - &dma_buf_ops.release of the helper's exports
 * @dmabuf: the dma-buf going
 *
 * Context: process context; takes the device's &drm_prime_p2p_device.lock
 * and the reservation lock.
 */
void drm_prime_p2p_dmabuf_release(struct dma_buf *dmabuf)
{
	struct drm_prime_p2p_export *exp = to_exp(dmabuf);
	struct drm_prime_p2p_device *p2p;
	struct drm_gem_object *obj;
	struct drm_device *drm;

	if (WARN_ON(!exp))
		return;
	p2p = exp->p2p;
	obj = exp->obj;
	drm = obj->dev;

	mutex_lock(&p2p->lock);
	/* NULL when drm_prime_p2p_device_fini() removed it already. */
	debugfs_remove(exp->debugfs);
	list_del(&exp->link);
	mutex_unlock(&p2p->lock);
	/* No attachment is left: the core releases a dma-buf without any. */
	WARN_ON(!list_empty(&exp->attachments));
	dma_resv_lock(obj->resv, NULL);
	hlist_del(&exp->obj_link);
	drop_ranges(exp);
	dma_resv_unlock(obj->resv);
	spin_lock(&p2p_exports_lock);
	hash_del_rcu(&exp->hash_node);
	spin_unlock(&p2p_exports_lock);
	kfree_rcu(exp, rcu);

	drm_gem_object_put(obj);
	drm_dev_put(drm);
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_release);

/**
 * drm_prime_p2p_dmabuf_mmap - &dma_buf_ops.mmap of the helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @vma: the mapping
 *
 * Maps the object as its GEM mmap does.
 *
 * Context: process context, the mmap lock held and the reservation lock
 * not, as the dma-buf core calls mmap.
 *
 * Returns: 0 or a negative error code.
 */
int drm_prime_p2p_dmabuf_mmap(struct dma_buf *dmabuf, struct vm_area_struct *vma)
{
	return drm_gem_prime_mmap(dmabuf->priv, vma);
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_mmap);

/*
 * A kernel mapping pins the buffer where it is until it is unmapped. The
 * driver's GEM vmap, when it has one, makes the mapping: it knows whether
 * its device memory is I/O memory.
 */
/**
 * drm_prime_p2p_dmabuf_vmap - &dma_buf_ops.vmap of the helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @map: set to the kernel mapping
 *
 * Pins the buffer (in system memory where device memory goes with the
 * device and the buffer may leave it) and maps it with the object's vmap,
 * or ttm_bo_vmap().
 *
 * Context: the reservation lock held, as the dma-buf core holds it.
 *
 * Returns: 0, or -ENODEV after a revoke, the error of the pin or the vmap.
 */
int drm_prime_p2p_dmabuf_vmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drm_prime_p2p_export *exp = to_exp(dmabuf);
	struct ttm_buffer_object *bo;
	struct drm_gem_object *obj;
	int ret;

	if (WARN_ON(!exp))
		return -EINVAL;
	obj = exp->obj;
	bo = to_bo(exp);

	dma_resv_assert_held(obj->resv);
	if (exp->revoked)
		return -ENODEV;
	/*
	 * A kernel mapping cannot be told to go: where device memory goes
	 * with the device, a buffer that may live in system memory is moved
	 * there first (when that fails, it is mapped where it is, and revoke
	 * waits for it).
	 */
	if (!exp->p2p->funcs->pinned_p2p && !bo->pin_count &&
	    is_device_mem(bo->bdev, bo->resource->mem_type)) {
		bool sys;

		placement_classes(exp, &sys);
		if (sys) {
			ret = place_for(exp, 0, 0);
			if (ret == -EINTR || ret == -ERESTARTSYS)
				return ret;
		}
	}
	ret = p2p_pin_bo(exp);
	if (ret)
		return ret;
	/* Not a P2P_FAULT() point: dma_buf_vmap() warns when vmap fails. */
	if (obj->funcs->vmap)
		ret = obj->funcs->vmap(obj, map);
	else
		ret = ttm_bo_vmap(bo, map);
	if (ret) {
		p2p_unpin_bo(exp);
		return ret;
	}
	/*
	 * A kernel mapping of device memory is one revoke waits for, unless
	 * the memory outlives every export. The core makes one per dma-buf.
	 */
	exp->vmap_waited = is_device_mem(bo->bdev, bo->resource->mem_type) &&
			   !exp->p2p->funcs->pinned_p2p;
	if (exp->vmap_waited)
		atomic_inc(&exp->p2p->device_mapped);
	return 0;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_vmap);

/**
 * drm_prime_p2p_dmabuf_vunmap - &dma_buf_ops.vunmap of the helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @map: the kernel mapping drm_prime_p2p_dmabuf_vmap() gave
 *
 * Context: the reservation lock held, as the dma-buf core holds it.
 */
void drm_prime_p2p_dmabuf_vunmap(struct dma_buf *dmabuf, struct iosys_map *map)
{
	struct drm_prime_p2p_export *exp = to_exp(dmabuf);
	struct ttm_buffer_object *bo;
	struct drm_gem_object *obj;

	if (WARN_ON(!exp))
		return;
	obj = exp->obj;
	bo = to_bo(exp);

	dma_resv_assert_held(obj->resv);
	if (obj->funcs->vunmap)
		obj->funcs->vunmap(obj, map);
	else
		ttm_bo_vunmap(bo, map);
	p2p_unpin_bo(exp);
	if (exp->vmap_waited &&
	    atomic_dec_and_test(&exp->p2p->device_mapped)) {
		/* Fully ordered, as in unmap_one(). */
		if (waitqueue_active(&exp->p2p->unmapped))
			wake_up_all(&exp->p2p->unmapped);
	}
	exp->vmap_waited = false;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_vunmap);

/*
 * Hand the importers' live mappings of RAM to the CPU or back to the
 * devices: a no-op where DMA is coherent and not bounced, a copy to or from
 * the bounce buffer where it is. MMIO is never bounced; a mapping only the
 * CPU writes is not synced for the CPU, one only the device writes not for
 * the device. Bounce buffers are whole copies: where two importers whose
 * DMA is bounced both write the buffer, the one synced last wins, as with
 * any exporter that syncs its attachments. Reservation lock held.
 */
static void sync_mappings(struct drm_prime_p2p_export *exp, bool for_cpu)
{
	struct drm_prime_p2p_attach *pa;
	struct drm_prime_p2p_mapping *m;
	unsigned int i;

	dma_resv_assert_held(exp->obj->resv);
	list_for_each_entry(pa, &exp->attachments, link) {
		struct device *dev = pa->attach->dev;

		list_for_each_entry(m, &pa->mappings, link) {
			if (m->stale ||
			    m->dir == (for_cpu ? DMA_TO_DEVICE : DMA_FROM_DEVICE))
				continue;
			if (m->kind == DRM_PRIME_P2P_MAP_PAGES) {
				if (for_cpu)
					dma_sync_sgtable_for_cpu(dev, m->sgt,
								 m->dir);
				else
					dma_sync_sgtable_for_device(dev, m->sgt,
								    m->dir);
				continue;
			}
			if (m->kind != DRM_PRIME_P2P_MAP_RESOURCE)
				continue;
			for (i = 0; i < m->nr; i++) {
				if (m->dma[i].attrs & DMA_ATTR_MMIO)
					continue;
				if (for_cpu)
					dma_sync_single_for_cpu(dev,
								m->dma[i].addr,
								m->dma[i].len,
								m->dir);
				else
					dma_sync_single_for_device(dev,
								   m->dma[i].addr,
								   m->dma[i].len,
								   m->dir);
			}
		}
	}
}

/**
 * drm_prime_p2p_dmabuf_begin_cpu_access - &dma_buf_ops.begin_cpu_access of
 *	the helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @dir: what the CPU does: DMA_FROM_DEVICE reads, else it writes too
 *
 * Waits for the devices' access the CPU must see or must not disturb, and
 * syncs the importers' mappings of RAM for the CPU. A driver that moves
 * the buffer where the CPU reads it faster wraps this.
 *
 * Context: process context, the reservation lock not held; takes it.
 *
 * Returns: 0, or -EINTR/-ERESTARTSYS when interrupted.
 */
int drm_prime_p2p_dmabuf_begin_cpu_access(struct dma_buf *dmabuf,
					  enum dma_data_direction dir)
{
	struct drm_prime_p2p_export *exp = to_exp(dmabuf);
	bool cpu_writes = dir != DMA_FROM_DEVICE;
	long ret;

	if (WARN_ON(!exp))
		return -EINVAL;
	/* Reads wait for the device's writes, writes for all its access. */
	ret = dma_resv_wait_timeout(exp->obj->resv,
				    dma_resv_usage_rw(cpu_writes), true,
				    MAX_SCHEDULE_TIMEOUT);
	if (ret < 0)
		return ret;
	/* What the devices wrote into their mappings, the CPU sees. */
	ret = dma_resv_lock_interruptible(exp->obj->resv, NULL);
	if (ret)
		return ret;
	sync_mappings(exp, true);
	dma_resv_unlock(exp->obj->resv);
	return 0;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_begin_cpu_access);

/**
 * drm_prime_p2p_dmabuf_end_cpu_access - &dma_buf_ops.end_cpu_access of the
 *	helper's exports
 * @dmabuf: a dma-buf made by drm_prime_p2p_export()
 * @dir: as for drm_prime_p2p_dmabuf_begin_cpu_access()
 *
 * Syncs the importers' mappings of RAM back for their devices.
 *
 * Context: process context, the reservation lock not held; takes it.
 *
 * Returns: 0, or -EINTR/-ERESTARTSYS when interrupted.
 */
int drm_prime_p2p_dmabuf_end_cpu_access(struct dma_buf *dmabuf,
					enum dma_data_direction dir)
{
	struct drm_prime_p2p_export *exp = to_exp(dmabuf);
	int ret;

	if (WARN_ON(!exp))
		return -EINVAL;
	/* What the CPU wrote, the devices see through their mappings. */
	ret = dma_resv_lock_interruptible(exp->obj->resv, NULL);
	if (ret)
		return ret;
	sync_mappings(exp, false);
	dma_resv_unlock(exp->obj->resv);
	return 0;
}
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_end_cpu_access);

/*
 * drm_prime_p2p_dmabuf_ops: the dma-buf callbacks of the helper's exports,
 * what drm_prime_p2p_export() exports with unless the driver gives its own
 * in &drm_prime_p2p_funcs.dmabuf_ops (see include/drm/drm_prime_p2p.h).
 */
const struct dma_buf_ops drm_prime_p2p_dmabuf_ops = {
	.attach = drm_prime_p2p_dmabuf_attach,
	.detach = drm_prime_p2p_dmabuf_detach,
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
EXPORT_SYMBOL(drm_prime_p2p_dmabuf_ops);

static int p2p_debugfs_show(struct seq_file *m, void *data)
{
	struct drm_prime_p2p_export *exp = m->private;
	struct ttm_buffer_object *bo = to_bo(exp);
	struct drm_prime_p2p_attach *pa;
	int ret;

	ret = dma_resv_lock_interruptible(exp->obj->resv, NULL);
	if (ret)
		return ret;
	seq_printf(m, "size: %zu\nplacement: %s %u\npinned: %u\nrevoked: %s\n",
		   exp->obj->size,
		   bo->resource && is_device_mem(bo->bdev, bo->resource->mem_type) ?
		   "device" : "system",
		   bo->resource ? bo->resource->mem_type : 0, bo->pin_count,
		   str_yes_no(exp->revoked));
	/* Where in device memory: a small BAR's peers reach only its start. */
	if (bo->resource && is_device_mem(bo->bdev, bo->resource->mem_type))
		seq_printf(m, "offset: %llu\n",
			   (u64)bo->resource->start << PAGE_SHIFT);
	seq_printf(m, "migrations: %u\ninvalidations: %u\n",
		   exp->migrations, exp->invalidations);
	list_for_each_entry(pa, &exp->attachments, link) {
		struct dma_buf_attachment *attach = pa->attach;

		seq_printf(m, "attachment: %s %s p2p=%s dynamic=%s kind=%s entries=%u maps=%u unmaps=%u pins=%u invalidations=%u\n",
			   dev_driver_string(attach->dev), dev_name(attach->dev),
			   str_yes_no(attach->peer2peer),
			   str_yes_no(!!attach->importer_ops),
			   kind_names[list_empty(&pa->mappings) ?
				      DRM_PRIME_P2P_MAP_NONE : pa->kind],
			   list_empty(&pa->mappings) ? 0 : pa->nents,
			   pa->maps, pa->unmaps, pa->pins, pa->invalidations);
	}
	dma_resv_unlock(exp->obj->resv);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(p2p_debugfs);

/*
 * The device's directory, named after it; when exports of an earlier device
 * of that name are still around, with a number that makes it unique.
 */
static void p2p_debugfs_init(struct drm_prime_p2p_device *p2p)
{
	static atomic_t seq = ATOMIC_INIT(0);
	struct drm_device *drm = p2p->drm;
	struct dentry *old;
	char *name, *target;

	old = debugfs_lookup(dev_name(drm->dev), p2p_debugfs_root);
	if (old) {
		dput(old);
		name = kasprintf(GFP_KERNEL, "%s.%d", dev_name(drm->dev),
				 atomic_inc_return(&seq));
	} else {
		name = kstrdup(dev_name(drm->dev), GFP_KERNEL);
	}
	if (!name) {
		p2p->debugfs = ERR_PTR(-ENOMEM);
		return;
	}
	p2p->debugfs = debugfs_create_dir(name, p2p_debugfs_root);
	if (!IS_ERR(p2p->debugfs) && drm->debugfs_root) {
		target = kasprintf(GFP_KERNEL, "../../%s/%s", P2P_DEBUGFS_ROOT,
				   name);
		/* Removed with the device's directory, never by the helper. */
		if (target)
			debugfs_create_symlink("p2p", drm->debugfs_root, target);
		kfree(target);
	}
	kfree(name);
}

/**
 * drm_prime_p2p_device_init - set up a device for the P2P dma-buf exporter
 * @p2p: the driver's &drm_prime_p2p_device
 * @drm: the exporting device
 * @funcs: the driver's hooks; &drm_prime_p2p_funcs.placement and
 *	&drm_prime_p2p_funcs.resource_ranges are required
 *
 * Call once, before the first export, from process context without locks
 * held. Each export gets a file named after the dma-buf's inode number in
 * the debugfs directory drm_prime_p2p/<device name>, which the helper owns
 * (exports can outlive the device's own debugfs directory, which goes at
 * drm_dev_unregister()); "p2p" in the device's directory links to it. While
 * exports of an earlier device of the same name live on, the directory is
 * <device name>.<n> instead.
 *
 * Returns: 0, or -EINVAL when a required hook is missing.
 */
int drm_prime_p2p_device_init(struct drm_prime_p2p_device *p2p,
			      struct drm_device *drm,
			      const struct drm_prime_p2p_funcs *funcs)
{
	const struct dma_buf_ops *ops = funcs ? funcs->dmabuf_ops : NULL;

	if (!funcs || !funcs->placement || !funcs->resource_ranges ||
	    !funcs->map_ranges != !funcs->unmap_ranges ||
	    !funcs->pin != !funcs->unpin) {
		drm_err(drm, "P2P dma-buf: placement and resource_ranges are required, map_ranges only with unmap_ranges, pin only with unpin\n");
		return -EINVAL;
	}
	if (!PAGE_ALIGNED(funcs->max_segment)) {
		drm_err(drm, "P2P dma-buf: a maximum segment of %zu bytes is not a multiple of the page size\n",
			funcs->max_segment);
		return -EINVAL;
	}
	/* The helper keeps its state in what attach sets up. */
	if (ops && (!ops->attach || !ops->detach || !ops->pin ||
		    !ops->unpin || !ops->map_dma_buf || !ops->unmap_dma_buf ||
		    !ops->release)) {
		drm_err(drm, "P2P dma-buf: the driver's dma-buf callbacks must attach, detach, pin, unpin, map, unmap and release through the helper's\n");
		return -EINVAL;
	}
	p2p->drm = drm;
	p2p->funcs = funcs;
	mutex_init(&p2p->lock);
	INIT_LIST_HEAD(&p2p->exports);
	p2p->revoked = false;
	memset(p2p->peer_lpfn, 0, sizeof(p2p->peer_lpfn));
	atomic_set(&p2p->device_mapped, 0);
	init_waitqueue_head(&p2p->unmapped);
	p2p_debugfs_init(p2p);
	return 0;
}
EXPORT_SYMBOL(drm_prime_p2p_device_init);

/**
 * drm_prime_p2p_device_fini - tear down what drm_prime_p2p_device_init() set up
 * @p2p: the driver's &drm_prime_p2p_device
 *
 * Call when the device's memory goes away, after drm_prime_p2p_revoke(). The
 * exports left hold the &drm_device, and with it @p2p, until released.
 *
 * Context: process context, no reservation lock held; takes &p2p->lock.
 */
void drm_prime_p2p_device_fini(struct drm_prime_p2p_device *p2p)
{
	struct drm_prime_p2p_export *exp;

	mutex_lock(&p2p->lock);
	WARN(!p2p->revoked && !list_empty(&p2p->exports),
	     "P2P dma-buf: device fini with live exports and no revoke\n");
	/* Their files go with the directory. */
	list_for_each_entry(exp, &p2p->exports, link)
		exp->debugfs = NULL;
	debugfs_remove(p2p->debugfs);
	p2p->debugfs = NULL;
	mutex_unlock(&p2p->lock);
}
EXPORT_SYMBOL(drm_prime_p2p_device_fini);

/**
 * drm_prime_p2p_set_peer_window - peers reach only part of a memory type
 * @p2p: the driver's &drm_prime_p2p_device
 * @mem_type: a device memory type
 * @size: the bytes peers reach from its start (what a small BAR shows of
 *	VRAM), or 0 for all of it
 *
 * Importers reach device memory through the device's BAR: where the BAR is
 * smaller than the memory, only its first @size bytes. The helper then
 * places a buffer for a peer within them (validating with the pages
 * beyond clamped off every place of @mem_type), keeps a buffer there
 * without validating when it is within them already, gives an importer
 * system memory instead for a buffer larger than @size (or refuses it at
 * attach with -EOPNOTSUPP when the buffer cannot leave @mem_type), and
 * refuses a peer a buffer pinned beyond them with -EBUSY. Does not apply
 * to importers that do not reach @mem_type peer-to-peer.
 *
 * Call after drm_prime_p2p_device_init(), while no export lives (the
 * helper reads the window without &p2p->lock, under the reservation lock
 * of an exported object). It is
 * about peers only: the CPU's own mappings (vmap, mmap) are the driver's,
 * and a kernel mapping pins the buffer where the driver's vmap put it,
 * beyond the window or not.
 *
 * Context: process context; takes &p2p->lock.
 *
 * Returns: 0, -EINVAL when @mem_type is not a TTM memory type or @size is
 * not a multiple of the page size, or -EBUSY while an export lives. A
 * window on a type that is not device memory is never used.
 */
int drm_prime_p2p_set_peer_window(struct drm_prime_p2p_device *p2p,
				  u32 mem_type, u64 size)
{
	if (mem_type >= TTM_NUM_MEM_TYPES || !PAGE_ALIGNED(size)) {
		drm_err(p2p->drm, "P2P dma-buf: a peer window of %llu bytes of memory type %u: no such type, or not a multiple of the page size\n",
			size, mem_type);
		return -EINVAL;
	}
	guard(mutex)(&p2p->lock);
	if (!list_empty(&p2p->exports)) {
		drm_err(p2p->drm, "P2P dma-buf: the peer window is set before the first export\n");
		return -EBUSY;
	}
	WRITE_ONCE(p2p->peer_lpfn[mem_type], size >> PAGE_SHIFT);
	return 0;
}
EXPORT_SYMBOL(drm_prime_p2p_set_peer_window);

/**
 * drm_prime_p2p_export - export a TTM-backed GEM object as a dynamic dma-buf
 * @p2p: the exporting device's &drm_prime_p2p_device
 * @pobj: the helper's state in the driver's buffer object
 * @obj: the object, embedded in a &ttm_buffer_object
 * @flags: flags of the dma-buf file, as for drm_gem_prime_export()
 *
 * For the driver's &drm_gem_object_funcs.export. Every importer gets its own
 * mapping (see Documentation/gpu/drm-prime-p2p.rst). The dma-buf's
 * &dma_buf.priv is @obj, as for drm_gem_prime_export(), and its callbacks
 * are &drm_prime_p2p_funcs.dmabuf_ops, by default drm_prime_p2p_dmabuf_ops.
 * The export is linked to @pobj until the dma-buf is released, so that
 * drm_prime_p2p_move_notify() reaches its importers however long the
 * dma-buf outlives the object's GEM handles.
 *
 * Context: process context, neither &p2p->lock nor the object's reservation
 * lock held; takes &p2p->lock and then the reservation lock.
 *
 * Returns: the dma-buf, or an ERR_PTR: -ENODEV after drm_prime_p2p_revoke(),
 * -EINVAL for an imported object, -ENOMEM.
 */
struct dma_buf *drm_prime_p2p_export(struct drm_prime_p2p_device *p2p,
				     struct drm_prime_p2p_object *pobj,
				     struct drm_gem_object *obj, int flags)
{
	DEFINE_DMA_BUF_EXPORT_INFO(exp_info);
	struct drm_device *drm = obj->dev;
	struct drm_prime_p2p_export *exp;
	struct dma_buf *dmabuf;
	char name[24];

	if (drm_gem_is_imported(obj)) {
		drm_dbg_prime(drm, "cannot re-export an imported object\n");
		return ERR_PTR(-EINVAL);
	}
	exp = P2P_FAULT(kzalloc_obj(*exp), NULL);
	if (!exp)
		return ERR_PTR(-ENOMEM);
	exp->p2p = p2p;
	exp->obj = obj;
	INIT_LIST_HEAD(&exp->attachments);

	exp_info.exp_name = "drm_prime_p2p";
	exp_info.owner = drm->driver->fops ? drm->driver->fops->owner : NULL;
	exp_info.ops = p2p->funcs->dmabuf_ops ?: &drm_prime_p2p_dmabuf_ops;
	exp_info.size = obj->size;
	exp_info.flags = flags;
	exp_info.priv = obj;
	exp_info.resv = obj->resv;

	mutex_lock(&p2p->lock);
	if (p2p->revoked) {
		mutex_unlock(&p2p->lock);
		kfree(exp);
		return ERR_PTR(-ENODEV);
	}
	dmabuf = P2P_FAULT(dma_buf_export(&exp_info), ERR_PTR(-ENOMEM));
	if (IS_ERR(dmabuf)) {
		mutex_unlock(&p2p->lock);
		kfree(exp);
		return dmabuf;
	}
	exp->dmabuf = dmabuf;
	exp->ops = exp_info.ops;
	spin_lock(&p2p_exports_lock);
	hash_add_rcu(p2p_exports, &exp->hash_node, (unsigned long)dmabuf);
	spin_unlock(&p2p_exports_lock);
	/*
	 * CPU mappings of the dma-buf must go where the device's own mappings
	 * of the object go, so that TTM's ttm_bo_unmap_virtual() zaps them
	 * too when the buffer moves, as drm_gem_dmabuf_export() arranges.
	 */
	dmabuf->file->f_mapping = drm->anon_inode->i_mapping;
	drm_dev_get(drm);
	drm_gem_object_get(obj);
	list_add(&exp->link, &p2p->exports);
	dma_resv_lock(obj->resv, NULL);
	hlist_add_head(&exp->obj_link, &pobj->exports);
	dma_resv_unlock(obj->resv);
	snprintf(name, sizeof(name), "%llu",
		 (unsigned long long)file_inode(dmabuf->file)->i_ino);
	exp->debugfs = debugfs_create_file(name, 0444, p2p->debugfs, exp,
					   &p2p_debugfs_fops);
	mutex_unlock(&p2p->lock);
	return dmabuf;
}
EXPORT_SYMBOL(drm_prime_p2p_export);

/**
 * drm_prime_p2p_is_export - is a dma-buf exported by the P2P helper?
 * @dma_buf: the dma-buf
 *
 * Whatever callbacks the exporting driver gave it: its own wrappers of the
 * helper's are found too.
 *
 * Context: any context; the caller holds a reference on @dma_buf; takes no
 * lock.
 *
 * Returns: true when @dma_buf was made by drm_prime_p2p_export().
 */
bool drm_prime_p2p_is_export(const struct dma_buf *dma_buf)
{
	return to_exp(dma_buf);
}
EXPORT_SYMBOL(drm_prime_p2p_is_export);

/**
 * drm_prime_p2p_exported_object - the object a P2P helper dma-buf exports
 * @dma_buf: the dma-buf
 *
 * For an importer that treats the helper's exports apart from other
 * dma-bufs, e.g. to import its own buffers or to attach dynamically.
 *
 * Context: any context; takes no lock.
 *
 * Returns: the exported GEM object, without a new reference (it lives as
 * long as @dma_buf does), or NULL when @dma_buf was not made by
 * drm_prime_p2p_export().
 */
struct drm_gem_object *
drm_prime_p2p_exported_object(const struct dma_buf *dma_buf)
{
	return drm_prime_p2p_is_export(dma_buf) ? dma_buf->priv : NULL;
}
EXPORT_SYMBOL(drm_prime_p2p_exported_object);

/**
 * drm_prime_p2p_export_revoked - has a P2P helper dma-buf been revoked?
 * @dma_buf: a dma-buf made by drm_prime_p2p_export()
 *
 * For an importer that must not ask a revoked export for a mapping: after
 * drm_prime_p2p_revoke() every attach, map, pin and vmap of it fails with
 * -ENODEV, and dma_buf_vmap() warns when an exporter's vmap fails.
 *
 * Context: the reservation lock of @dma_buf held.
 *
 * Returns: true when the device that exported @dma_buf revoked it.
 */
bool drm_prime_p2p_export_revoked(struct dma_buf *dma_buf)
{
	struct drm_prime_p2p_export *exp = to_exp(dma_buf);

	if (WARN_ON(!exp))
		return false;
	dma_resv_assert_held(dma_buf->resv);
	return exp->revoked;
}
EXPORT_SYMBOL(drm_prime_p2p_export_revoked);

/**
 * drm_prime_p2p_gem_prime_import - &drm_driver.gem_prime_import of a driver
 *	exporting through the P2P helper
 * @dev: the importing device
 * @dma_buf: the dma-buf
 *
 * Returns the exported object itself for a buffer @dev exported, and
 * otherwise imports as drm_gem_prime_import() does. Called without locks.
 *
 * Returns: the object with a new reference, or an ERR_PTR.
 */
struct drm_gem_object *drm_prime_p2p_gem_prime_import(struct drm_device *dev,
						      struct dma_buf *dma_buf)
{
	struct drm_gem_object *obj = drm_prime_p2p_exported_object(dma_buf);

	if (obj && obj->dev == dev) {
		drm_gem_object_get(obj);
		return obj;
	}
	return drm_gem_prime_import(dev, dma_buf);
}
EXPORT_SYMBOL(drm_prime_p2p_gem_prime_import);

/* Tell the dynamic importers; reservation lock held. */
static void invalidate(struct drm_prime_p2p_export *exp)
{
	struct drm_prime_p2p_attach *pa;

	list_for_each_entry(pa, &exp->attachments, link)
		if (dma_buf_attach_revocable(pa->attach))
			pa->invalidations++;
	exp->invalidations++;
	trace_drm_prime_p2p_invalidate(exp->dmabuf, exp->invalidations);
	dma_buf_invalidate_mappings(exp->dmabuf);
}

/*
 * The backing store of the buffer is about to move or go, and the importers
 * were told. Those that keep a mapping of RAM until later (as the contract
 * lets them) must not have it synced then, into memory that is another
 * buffer's by that time: once the fences of their work signalled, what their
 * devices wrote is synced for the CPU, moving with the buffer, and the
 * mapping is marked stale. A move that fails after this leaves them stale:
 * such an importer was told to map again. Reservation lock held.
 */
static void retire_ram_mappings(struct drm_prime_p2p_export *exp)
{
	struct drm_prime_p2p_attach *pa;
	struct drm_prime_p2p_mapping *m;
	bool live = false;

	list_for_each_entry(pa, &exp->attachments, link)
		list_for_each_entry(m, &pa->mappings, link)
			live |= !m->stale;
	if (!live)
		return;
	/*
	 * Importers may access the memory until their fences signal, also
	 * after being told: what their devices write until then must be in
	 * the pages before they are synced for the CPU and move.
	 */
	dma_resv_wait_timeout(exp->obj->resv, DMA_RESV_USAGE_BOOKKEEP, false,
			      MAX_SCHEDULE_TIMEOUT);
	sync_mappings(exp, true);
	list_for_each_entry(pa, &exp->attachments, link)
		list_for_each_entry(m, &pa->mappings, link)
			if (m->kind == DRM_PRIME_P2P_MAP_PAGES ||
			    m->kind == DRM_PRIME_P2P_MAP_RESOURCE)
				m->stale = true;
}

/**
 * drm_prime_p2p_move_notify - invalidate importers when a buffer moves
 * @pobj: the helper's state in @bo
 * @bo: the buffer object
 * @new_mem: where it goes, or NULL when its backing goes away (swap-out,
 *	destruction)
 *
 * Call from the driver's &ttm_device_funcs.move before every move (also
 * one from no resource), and from &ttm_device_funcs.swap_notify with
 * @new_mem NULL, with the reservation lock of @bo held; also before any
 * other change of @bo's resource TTM makes without those hooks: a purge
 * through ttm_bo_validate() with no placement, an eviction for which
 * &ttm_device_funcs.evict_flags gives no placement (TTM then drops the
 * backing store without a move). Importers must be told of those as of
 * any move, and the helper keeps the driver's ranges of a resource in
 * device memory until told.
 *
 * Tells every dynamic importer of @bo's exports to drop their mappings
 * when the backing store changes: not for a move between
 * two system memory placements, which keep their pages, unless it goes
 * into one of &drm_prime_p2p_funcs.contiguous_placement (its pages may be
 * replaced), nor when @bo has no live export. The exports are found through
 * @pobj, so their importers are told for as long as the dma-buf lives, also
 * after the last GEM handle of @bo was closed. Mappings of RAM an importer
 * keeps after being told are synced for the CPU here and never again: their
 * memory is about to go.
 *
 * Context: the reservation lock of @bo held, as TTM holds it around
 * &ttm_device_funcs.move and &ttm_device_funcs.swap_notify; takes no lock.
 *
 * Returns: true when importers were told.
 */
bool drm_prime_p2p_move_notify(struct drm_prime_p2p_object *pobj,
			       struct ttm_buffer_object *bo,
			       const struct ttm_resource *new_mem)
{
	struct ttm_resource *old = bo->resource;
	struct drm_prime_p2p_export *exp;

	dma_resv_assert_held(bo->base.resv);
	if (hlist_empty(&pobj->exports))
		return false;
	hlist_for_each_entry(exp, &pobj->exports, obj_link)
		exp->moves++;
	exp = hlist_entry(pobj->exports.first, struct drm_prime_p2p_export,
			  obj_link);
	if (old && new_mem && !is_device_mem(bo->bdev, old->mem_type) &&
	    !is_device_mem(bo->bdev, new_mem->mem_type) &&
	    !is_contiguous_type(exp, new_mem->mem_type))
		return false;
	hlist_for_each_entry(exp, &pobj->exports, obj_link) {
		invalidate(exp);
		retire_ram_mappings(exp);
		drop_ranges(exp);
	}
	return true;
}
EXPORT_SYMBOL(drm_prime_p2p_move_notify);

/**
 * drm_prime_p2p_revoke - revoke every export of a device being removed
 * @p2p: the device's &drm_prime_p2p_device
 * @timeout: how long to wait in all, in jiffies
 *
 * Tells every importer to drop its mappings and makes later exports,
 * attaches, maps, pins and vmaps fail with -ENODEV. Then waits for the
 * importers' mappings (and kernel mappings) of device memory to be
 * unmapped, and then, as dma_buf_invalidate_mappings() requires before the
 * memory goes, for every fence of the exported objects
 * (%DMA_RESV_USAGE_BOOKKEEP: importers may access the memory until their
 * fences signal, also after they unmapped). Mappings of system memory
 * pages are not waited for: they do not go away with the device; nor,
 * where &drm_prime_p2p_funcs.pinned_p2p says the memory outlives every
 * export, are those of importers that cannot be told. Dynamic importers
 * unmap promptly; after @timeout in all, the call warns and returns.
 *
 * Context: process context, no reservation lock held; takes &p2p->lock and
 * then each object's reservation lock, and waits with neither held.
 *
 * Returns: nothing. After it, no new mapping of the device's memory is made.
 */
void drm_prime_p2p_revoke(struct drm_prime_p2p_device *p2p,
			  unsigned long timeout)
{
	unsigned long deadline = jiffies + timeout;
	struct drm_prime_p2p_export *exp;
	struct dma_fence **fences;
	unsigned int i, n = 0;
	long left;

	mutex_lock(&p2p->lock);
	p2p->revoked = true;
	list_for_each_entry(exp, &p2p->exports, link) {
		dma_resv_lock(exp->obj->resv, NULL);
		exp->revoked = true;
		trace_drm_prime_p2p_revoke(exp->dmabuf,
					   atomic_read(&p2p->device_mapped));
		invalidate(exp);
		drop_ranges(exp);
		dma_resv_unlock(exp->obj->resv);
		n++;
	}
	mutex_unlock(&p2p->lock);

	left = max_t(long, (long)(deadline - jiffies), 0);
	if (!wait_event_timeout(p2p->unmapped,
				!atomic_read(&p2p->device_mapped), left))
		drm_warn(p2p->drm, "P2P dma-buf: %d importer mappings of device memory still outstanding after revoke\n",
			 atomic_read(&p2p->device_mapped));

	/*
	 * Then the DMA the importers queued before they unmapped: one fence
	 * per export for all its fences, taken under the locks, waited for
	 * without them (a fence may need a release, and with it the lock, to
	 * signal).
	 */
	fences = n ? kmalloc_array(n, sizeof(*fences), GFP_KERNEL) : NULL;
	n = 0;
	mutex_lock(&p2p->lock);
	list_for_each_entry(exp, &p2p->exports, link) {
		struct dma_fence *fence = NULL;

		dma_resv_lock(exp->obj->resv, NULL);
		if (!fences || dma_resv_get_singleton(exp->obj->resv,
						      DMA_RESV_USAGE_BOOKKEEP,
						      &fence)) {
			/* No memory: wait here, with the locks held. */
			left = max_t(long, (long)(deadline - jiffies), 0);
			dma_resv_wait_timeout(exp->obj->resv,
					      DMA_RESV_USAGE_BOOKKEEP, false,
					      left);
		} else if (fence) {
			fences[n++] = fence;
		}
		dma_resv_unlock(exp->obj->resv);
	}
	mutex_unlock(&p2p->lock);

	for (i = 0; i < n; i++) {
		left = max_t(long, (long)(deadline - jiffies), 0);
		if (dma_fence_wait_timeout(fences[i], false, left) <= 0 &&
		    !dma_fence_is_signaled(fences[i]))
			drm_warn_once(p2p->drm, "P2P dma-buf: fences of an export still unsignalled after revoke\n");
		dma_fence_put(fences[i]);
	}
	kfree(fences);
}
EXPORT_SYMBOL(drm_prime_p2p_revoke);

/**
 * drm_prime_p2p_attachment_kind - how an attachment's mapping was made
 * @attach: an attachment to a buffer exported through the helper
 *
 * Call with the reservation lock held.
 *
 * Returns: the kind of the attachment's latest live mapping, or
 * %DRM_PRIME_P2P_MAP_NONE when it has none or is not the helper's.
 */
enum drm_prime_p2p_map_kind
drm_prime_p2p_attachment_kind(struct dma_buf_attachment *attach)
{
	struct drm_prime_p2p_attach *pa;

	if (!drm_prime_p2p_is_export(attach->dmabuf))
		return DRM_PRIME_P2P_MAP_NONE;
	dma_resv_assert_held(attach->dmabuf->resv);
	pa = to_pa(attach);
	return list_empty(&pa->mappings) ? DRM_PRIME_P2P_MAP_NONE : pa->kind;
}
EXPORT_SYMBOL(drm_prime_p2p_attachment_kind);

#if IS_ENABLED(CONFIG_KUNIT)
/**
 * drm_prime_p2p_attachment_mmio - is an attachment's device memory MMIO
 * @attach: an attachment to a buffer exported through the helper
 *
 * For the KUnit tests: whether the latest live mapping maps device memory
 * with dma_map_phys() as MMIO, as dma_map_resource() does, in every range.
 *
 * Context: the reservation lock held.
 *
 * Returns: true when it does; false for RAM, any other kind of mapping,
 * or none.
 */
VISIBLE_IF_KUNIT bool
drm_prime_p2p_attachment_mmio(struct dma_buf_attachment *attach)
{
	struct drm_prime_p2p_mapping *m;
	unsigned int i;

	if (!drm_prime_p2p_is_export(attach->dmabuf))
		return false;
	dma_resv_assert_held(attach->dmabuf->resv);
	m = list_first_entry_or_null(&to_pa(attach)->mappings,
				     struct drm_prime_p2p_mapping, link);
	if (!m || m->kind != DRM_PRIME_P2P_MAP_RESOURCE || !m->nr)
		return false;
	for (i = 0; i < m->nr; i++)
		if (!(m->dma[i].attrs & DMA_ATTR_MMIO))
			return false;
	return true;
}
EXPORT_SYMBOL_IF_KUNIT(drm_prime_p2p_attachment_mmio);

/**
 * drm_prime_p2p_mappings - importer mappings outstanding on a device
 * @p2p: the exporting device
 *
 * For the KUnit tests: the mappings its importers were given and have not
 * given back, across all exports.
 *
 * Context: process context; takes &drm_prime_p2p_device.lock and each
 * export's reservation lock, so none of them may be held.
 *
 * Returns: their number.
 */
VISIBLE_IF_KUNIT unsigned int
drm_prime_p2p_mappings(struct drm_prime_p2p_device *p2p)
{
	struct drm_prime_p2p_export *exp;
	struct drm_prime_p2p_attach *pa;
	unsigned int n = 0;

	mutex_lock(&p2p->lock);
	list_for_each_entry(exp, &p2p->exports, link) {
		dma_resv_lock(exp->obj->resv, NULL);
		list_for_each_entry(pa, &exp->attachments, link)
			n += pa->maps - pa->unmaps;
		dma_resv_unlock(exp->obj->resv);
	}
	mutex_unlock(&p2p->lock);
	return n;
}
EXPORT_SYMBOL_IF_KUNIT(drm_prime_p2p_mappings);

/* What sg_alloc_table() allocates for the entries of @sgt, chaining included. */
static size_t sgl_bytes(const struct sg_table *sgt)
{
	unsigned int left = sgt->orig_nents, chunks = 1;

	while (left > SG_MAX_SINGLE_ALLOC) {
		left -= SG_MAX_SINGLE_ALLOC - 1;
		chunks++;
	}
	return (size_t)(sgt->orig_nents + chunks - 1) *
	       sizeof(struct scatterlist);
}

/**
 * drm_prime_p2p_footprint - the memory the helper keeps for an importer
 * @attach: an attachment to a buffer exported through the helper
 * @export_bytes: set to the bytes of the export's own records
 * @attach_bytes: set to the bytes of the attachment's record, with the
 *	memory of an unmapped mapping it keeps for the next
 *
 * For the benchmark: what the helper asked the allocator for, beside what
 * the dma-buf core allocates for every exporter.
 *
 * Context: the reservation lock held.
 *
 * Returns: the bytes of the latest live mapping of @attach, its record and
 * its sg table's entries (for a mapping another layer built, the record
 * only), or 0 when it has none.
 */
VISIBLE_IF_KUNIT size_t
drm_prime_p2p_footprint(struct dma_buf_attachment *attach,
			size_t *export_bytes, size_t *attach_bytes)
{
	struct drm_prime_p2p_export *exp = to_pa(attach)->exp;
	struct drm_prime_p2p_mapping *m;

	dma_resv_assert_held(attach->dmabuf->resv);
	*export_bytes = sizeof(*exp) + exp->nr_ranges * sizeof(*exp->ranges);
	*attach_bytes = sizeof(struct drm_prime_p2p_attach) +
			(to_pa(attach)->spare ? to_pa(attach)->spare->size : 0);
	m = list_first_entry_or_null(&to_pa(attach)->mappings,
				     struct drm_prime_p2p_mapping, link);
	if (!m)
		return 0;
	switch (m->kind) {
	case DRM_PRIME_P2P_MAP_RESOURCE:
		return m->size + (m->own_sgl ? sgl_bytes(m->sgt) : 0);
	case DRM_PRIME_P2P_MAP_PAGES:
		return sizeof(*m) + sgl_bytes(m->sgt);
	default:
		return sizeof(*m);
	}
}
EXPORT_SYMBOL_IF_KUNIT(drm_prime_p2p_footprint);
#endif

/**
 * drm_prime_p2p_attachment_invalidations - invalidations an attachment got
 * @attach: an attachment to a buffer exported through the helper
 *
 * Call with the reservation lock held.
 *
 * Returns: how often the helper told the attachment to drop its mappings,
 * or 0 when it is not the helper's or has no invalidate_mappings callback.
 */
unsigned int
drm_prime_p2p_attachment_invalidations(struct dma_buf_attachment *attach)
{
	if (!drm_prime_p2p_is_export(attach->dmabuf))
		return 0;
	dma_resv_assert_held(attach->dmabuf->resv);
	return to_pa(attach)->invalidations;
}
EXPORT_SYMBOL(drm_prime_p2p_attachment_invalidations);

static int __init drm_prime_p2p_init(void)
{
	p2p_debugfs_root = debugfs_create_dir(P2P_DEBUGFS_ROOT, NULL);
	return 0;
}

/* Before the drivers that use it, when built in. */
subsys_initcall(drm_prime_p2p_init);

static void __exit drm_prime_p2p_exit(void)
{
	debugfs_remove(p2p_debugfs_root);
}
module_exit(drm_prime_p2p_exit);

MODULE_DESCRIPTION("DRM peer-to-peer aware dma-buf exporter for TTM objects");
MODULE_IMPORT_NS("DMA_BUF");
MODULE_LICENSE("Dual MIT/GPL");
