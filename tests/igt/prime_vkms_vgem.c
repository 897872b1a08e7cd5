// SPDX-License-Identifier: GPL-2.0
/*
 * PRIME between VKMS and vgem on the unmodified drivers: what the exporter
 * wrote is what the dma-buf holds; the importer accepts the buffer (one
 * handle per dma-buf, a framebuffer on VKMS); bad fds are refused.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include "drm_p2p_test.h"

FIXTURE(prime) {
	int vkms;
	int vgem;
};

FIXTURE_SETUP(prime)
{
	self->vkms = open_driver("vkms", 0);
	self->vgem = open_driver("vgem", 0);
	ASSERT_GE(self->vkms, 0) TH_LOG("no vkms device");
	ASSERT_GE(self->vgem, 0) TH_LOG("no vgem device");
}

FIXTURE_TEARDOWN(prime)
{
	close(self->vkms);
	close(self->vgem);
}

/*
 * Export a pattern-filled dumb buffer of @exporter, import it into
 * @importer; return the dma-buf fd and the importer's handle.
 */
static int share(struct __test_metadata *_metadata, int exporter, int importer,
		 struct dumb *src, uint32_t *imported, uint32_t seed)
{
	uint32_t again;
	void *p;
	int fd;

	if (dumb_create(exporter, 256, 64, src))
		return -1;
	p = dumb_map(exporter, src);
	if (!p)
		return -1;
	fill(p, src->size, seed);
	munmap(p, src->size);

	if (drmPrimeHandleToFD(exporter, src->handle, DRM_CLOEXEC | DRM_RDWR, &fd))
		return -1;
	if (drmPrimeFDToHandle(importer, fd, imported))
		return -1;
	/* the same dma-buf imported twice is the same object */
	if (drmPrimeFDToHandle(importer, fd, &again) || again != *imported)
		return -1;
	return fd;
}

TEST_F(prime, vkms_to_vgem)
{
	struct dumb src = {};
	uint32_t handle;
	void *p;
	int fd;

	fd = share(_metadata, self->vkms, self->vgem, &src, &handle, 0x5eed);
	ASSERT_GE(fd, 0);
	p = dmabuf_map(fd, src.size);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, src.size, 0x5eed), 0ull);

	/* a write through the dma-buf lands in the exporter's buffer */
	fill(p, src.size, 0xbeef);
	dmabuf_unmap(fd, p, src.size);
	p = dumb_map(self->vkms, &src);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, src.size, 0xbeef), 0ull);
	munmap(p, src.size);

	close(fd);
	gem_close(self->vgem, handle);
	gem_close(self->vkms, src.handle);
}

TEST_F(prime, vgem_to_vkms)
{
	uint32_t handles[4] = {}, pitches[4] = {}, offsets[4] = {}, fb = 0;
	struct dumb src = {};
	void *p;
	int fd;

	fd = share(_metadata, self->vgem, self->vkms, &src, &handles[0], 0xf00d);
	ASSERT_GE(fd, 0);
	/* VKMS takes the imported buffer as a framebuffer */
	pitches[0] = src.pitch;
	ASSERT_EQ(drmModeAddFB2(self->vkms, 64, 64, DRM_FORMAT_XRGB8888, handles,
				pitches, offsets, &fb, 0), 0);
	p = dmabuf_map(fd, src.size);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, src.size, 0xf00d), 0ull);
	dmabuf_unmap(fd, p, src.size);

	drmModeRmFB(self->vkms, fb);
	close(fd);
	gem_close(self->vkms, handles[0]);
	gem_close(self->vgem, src.handle);
}

TEST_F(prime, import_bad_fd)
{
	uint32_t handle;
	int fd = open("/dev/null", O_RDONLY);

	ASSERT_GE(fd, 0);
	EXPECT_EQ(drmPrimeFDToHandle(self->vkms, -1, &handle), -1);
	EXPECT_EQ(errno, EBADF);
	/* an fd that is not a dma-buf */
	EXPECT_EQ(drmPrimeFDToHandle(self->vkms, fd, &handle), -1);
	EXPECT_EQ(errno, EINVAL);
	close(fd);
}

TEST_HARNESS_MAIN
