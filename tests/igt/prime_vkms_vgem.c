// SPDX-License-Identifier: GPL-2.0
/*
 * PRIME between VKMS and vgem: what the exporter's CPU writes, the importer
 * reads, in both directions; a bad fd is refused with EBADF.
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

static void share(struct __test_metadata *_metadata, int exporter, int importer)
{
	struct dumb src = {}, dst = {};
	uint32_t *p;
	int fd;

	ASSERT_EQ(dumb_create(exporter, 256, 64, &src), 0);
	p = dumb_map(exporter, &src);
	ASSERT_NE(p, NULL);
	fill(p, src.size, 0x5eed);
	munmap(p, src.size);

	ASSERT_EQ(drmPrimeHandleToFD(exporter, src.handle, DRM_CLOEXEC | DRM_RDWR, &fd), 0);
	ASSERT_EQ(drmPrimeFDToHandle(importer, fd, &dst.handle), 0);
	dst.size = src.size;
	p = dumb_map(importer, &dst);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, dst.size, 0x5eed), 0ull);

	/* and back: the importer writes, the exporter's mapping sees it */
	fill(p, dst.size, 0xbeef);
	munmap(p, dst.size);
	p = dumb_map(exporter, &src);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, src.size, 0xbeef), 0ull);
	munmap(p, src.size);

	close(fd);
	gem_close(importer, dst.handle);
	gem_close(exporter, src.handle);
}

TEST_F(prime, vkms_to_vgem)
{
	share(_metadata, self->vkms, self->vgem);
}

TEST_F(prime, vgem_to_vkms)
{
	share(_metadata, self->vgem, self->vkms);
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
