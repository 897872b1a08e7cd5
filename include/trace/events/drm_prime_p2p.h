/* SPDX-License-Identifier: MIT */
/*
 * Tracepoints of the DRM P2P dma-buf exporter.
 */

#undef TRACE_SYSTEM
#define TRACE_SYSTEM drm_prime_p2p

#if !defined(_TRACE_DRM_PRIME_P2P_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_DRM_PRIME_P2P_H

#include <linux/device.h>
#include <linux/dma-buf.h>
#include <linux/tracepoint.h>

#include <drm/drm_prime_p2p.h>

TRACE_DEFINE_ENUM(DRM_PRIME_P2P_MAP_NONE);
TRACE_DEFINE_ENUM(DRM_PRIME_P2P_MAP_PCI);
TRACE_DEFINE_ENUM(DRM_PRIME_P2P_MAP_RESOURCE);
TRACE_DEFINE_ENUM(DRM_PRIME_P2P_MAP_DRIVER);
TRACE_DEFINE_ENUM(DRM_PRIME_P2P_MAP_PAGES);

/* As the exporter's debugfs files name them. */
#define show_p2p_map_kind(kind)						\
	__print_symbolic(kind,						\
			 { DRM_PRIME_P2P_MAP_NONE, "none" },		\
			 { DRM_PRIME_P2P_MAP_PCI, "p2p-pci" },		\
			 { DRM_PRIME_P2P_MAP_RESOURCE, "p2p-resource" },	\
			 { DRM_PRIME_P2P_MAP_DRIVER, "p2p-driver" },	\
			 { DRM_PRIME_P2P_MAP_PAGES, "pages" })

TRACE_EVENT(drm_prime_p2p_attach,
	TP_PROTO(struct dma_buf_attachment *attach, u32 reach, int ret),
	TP_ARGS(attach, reach, ret),
	TP_STRUCT__entry(
		__field(const struct dma_buf *, dmabuf)
		__string(importer, dev_name(attach->dev))
		__field(bool, allow_p2p)
		__field(u32, reach)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->dmabuf = attach->dmabuf;
		__assign_str(importer);
		__entry->allow_p2p = attach->importer_ops &&
				     attach->importer_ops->allow_peer2peer;
		__entry->reach = reach;
		__entry->ret = ret;
	),
	TP_printk("dmabuf=%p importer=%s allow_p2p=%d reach=0x%x ret=%d",
		  __entry->dmabuf, __get_str(importer), __entry->allow_p2p,
		  __entry->reach, __entry->ret)
);

DECLARE_EVENT_CLASS(drm_prime_p2p_mapping,
	TP_PROTO(struct dma_buf_attachment *attach, u32 mem_type, int kind,
		 unsigned int nents, int ret),
	TP_ARGS(attach, mem_type, kind, nents, ret),
	TP_STRUCT__entry(
		__field(const struct dma_buf *, dmabuf)
		__string(importer, dev_name(attach->dev))
		__field(u32, mem_type)
		__field(int, kind)
		__field(unsigned int, nents)
		__field(int, ret)
	),
	TP_fast_assign(
		__entry->dmabuf = attach->dmabuf;
		__assign_str(importer);
		__entry->mem_type = mem_type;
		__entry->kind = kind;
		__entry->nents = nents;
		__entry->ret = ret;
	),
	TP_printk("dmabuf=%p importer=%s mem_type=%u kind=%s nents=%u ret=%d",
		  __entry->dmabuf, __get_str(importer), __entry->mem_type,
		  show_p2p_map_kind(__entry->kind), __entry->nents,
		  __entry->ret)
);

DEFINE_EVENT(drm_prime_p2p_mapping, drm_prime_p2p_map,
	TP_PROTO(struct dma_buf_attachment *attach, u32 mem_type, int kind,
		 unsigned int nents, int ret),
	TP_ARGS(attach, mem_type, kind, nents, ret)
);

DEFINE_EVENT(drm_prime_p2p_mapping, drm_prime_p2p_unmap,
	TP_PROTO(struct dma_buf_attachment *attach, u32 mem_type, int kind,
		 unsigned int nents, int ret),
	TP_ARGS(attach, mem_type, kind, nents, ret)
);

TRACE_EVENT(drm_prime_p2p_migrate,
	TP_PROTO(const struct dma_buf *dmabuf, u32 from, u32 to),
	TP_ARGS(dmabuf, from, to),
	TP_STRUCT__entry(
		__field(const struct dma_buf *, dmabuf)
		__field(u32, from)
		__field(u32, to)
	),
	TP_fast_assign(
		__entry->dmabuf = dmabuf;
		__entry->from = from;
		__entry->to = to;
	),
	TP_printk("dmabuf=%p from=%u to=%u", __entry->dmabuf, __entry->from,
		  __entry->to)
);

DECLARE_EVENT_CLASS(drm_prime_p2p_buffer,
	TP_PROTO(const struct dma_buf *dmabuf, unsigned int count),
	TP_ARGS(dmabuf, count),
	TP_STRUCT__entry(
		__field(const struct dma_buf *, dmabuf)
		__field(unsigned int, count)
	),
	TP_fast_assign(
		__entry->dmabuf = dmabuf;
		__entry->count = count;
	),
	TP_printk("dmabuf=%p count=%u", __entry->dmabuf, __entry->count)
);

/* count: the invalidations of the buffer so far */
DEFINE_EVENT(drm_prime_p2p_buffer, drm_prime_p2p_invalidate,
	TP_PROTO(const struct dma_buf *dmabuf, unsigned int count),
	TP_ARGS(dmabuf, count)
);

/* count: importer mappings of the device outstanding */
DEFINE_EVENT(drm_prime_p2p_buffer, drm_prime_p2p_revoke,
	TP_PROTO(const struct dma_buf *dmabuf, unsigned int count),
	TP_ARGS(dmabuf, count)
);

#endif /* _TRACE_DRM_PRIME_P2P_H */

/* This part must be outside protection */
#include <trace/define_trace.h>
