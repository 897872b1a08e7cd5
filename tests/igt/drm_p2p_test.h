/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the project's userspace tests: open a DRM device by
 * driver name, dumb buffers, patterns.
 *
 * Copyright 2026 The drm-p2p authors
 */
#ifndef DRM_P2P_TEST_H
#define DRM_P2P_TEST_H

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <drm_fourcc.h>

#include "kselftest_harness.h"

struct dumb {
	uint32_t handle;
	uint32_t pitch;
	uint64_t size;
};

/* Open the @nth card whose driver is @name; -1 if there is none. */
static inline int open_driver(const char *name, int nth)
{
	char path[64];
	int i, fd;

	for (i = 0; i < 16; i++) {
		drmVersionPtr v;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, name) && nth-- == 0) {
			drmFreeVersion(v);
			return fd;
		}
		drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

static inline int dumb_create(int fd, uint32_t width, uint32_t height,
			      struct dumb *d)
{
	struct drm_mode_create_dumb arg = {
		.width = width, .height = height, .bpp = 32,
	};

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &arg))
		return -errno;
	d->handle = arg.handle;
	d->pitch = arg.pitch;
	d->size = arg.size;
	return 0;
}

static inline void *dumb_map(int fd, struct dumb *d)
{
	struct drm_mode_map_dumb arg = { .handle = d->handle };
	void *p;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &arg))
		return NULL;
	p = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 arg.offset);
	return p == MAP_FAILED ? NULL : p;
}

/* CPU access to a dma-buf through its fd, bracketed by DMA_BUF_IOCTL_SYNC. */
static inline void *dmabuf_map(int fd, uint64_t size)
{
	struct dma_buf_sync sync = {
		.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW,
	};
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync)) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

static inline void dmabuf_unmap(int fd, void *p, uint64_t size)
{
	struct dma_buf_sync sync = {
		.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
	};

	ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
	munmap(p, size);
}

static inline void gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close arg = { .handle = handle };

	drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &arg);
}

/* A pattern that differs in every word, so a misplaced page shows. */
static inline void fill(uint32_t *p, uint64_t size, uint32_t seed)
{
	uint64_t i;

	for (i = 0; i < size / 4; i++)
		p[i] = seed ^ (uint32_t)(i * 2654435761u);
}

/* Index of the first wrong word plus one, or 0 if all are right. */
static inline unsigned long long check(const uint32_t *p, uint64_t size, uint32_t seed)
{
	uint64_t i;

	for (i = 0; i < size / 4; i++)
		if (p[i] != (seed ^ (uint32_t)(i * 2654435761u)))
			return i + 1;
	return 0;
}

#endif
