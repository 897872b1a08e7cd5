// SPDX-License-Identifier: GPL-2.0
/*
 * Bad input against VKMS VRAM exports: invalid handles, fds, flags, sizes
 * and offsets, double close, another device's objects. Each gets its errno
 * and leaves the devices and the buffer as they were: the test ends by
 * checking the buffer's content and that the export has no attachment
 * left. (Configuration errors are in vkms_vram, revoked buffers in
 * vram_prime and vram_v4l2.)
 *
 * Copyright 2026 The drm-p2p authors
 */
#include "drm_p2p_test.h"

#define GPU0	"bad0"
#define GPU1	"bad1"
#define SEED	0xbadc0deU

FIXTURE(bad) {
	int gpu0, gpu1;
	struct dumb d;
	uint32_t *map;
	int fd;		/* the buffer's dma-buf */
};

FIXTURE_SETUP(bad)
{
	self->gpu0 = -1;
	self->gpu1 = -1;
	self->fd = -1;
	self->map = NULL;
	ASSERT_EQ(vkms_make_gpu(GPU0, "8M", "vkms"), 0);
	ASSERT_EQ(vkms_make_gpu(GPU1, "8M", "vkms"), 0);
	self->gpu0 = open_vkms(GPU0);
	self->gpu1 = open_vkms(GPU1);
	ASSERT_GE(self->gpu0, 0);
	ASSERT_GE(self->gpu1, 0);
	ASSERT_EQ(dumb_create(self->gpu0, 256, 256, &self->d), 0);
	self->map = dumb_map(self->gpu0, &self->d);
	ASSERT_NE(self->map, NULL);
	fill(self->map, self->d.size, SEED);
	ASSERT_EQ(drmPrimeHandleToFD(self->gpu0, self->d.handle,
				     DRM_CLOEXEC | DRM_RDWR, &self->fd), 0);
}

FIXTURE_TEARDOWN(bad)
{
	struct export_info info;

	if (self->fd >= 0) {
		/* Whatever failed left nothing attached, and the content. */
		EXPECT_EQ(export_info(GPU0, self->fd, &info), 0);
		EXPECT_EQ(strstr(info.text, "attachment:"), NULL)
			TH_LOG("%s", info.text);
		close(self->fd);
	}
	if (self->map) {
		EXPECT_EQ(check(self->map, self->d.size, SEED), 0ULL);
		munmap(self->map, self->d.size);
	}
	if (self->gpu1 >= 0)
		close(self->gpu1);
	if (self->gpu0 >= 0)
		close(self->gpu0);
	vkms_remove(GPU1);
	vkms_remove(GPU0);
}

static int handle_to_fd(int drm, uint32_t handle, uint32_t flags, int *fd)
{
	struct drm_prime_handle arg = { .handle = handle, .flags = flags };

	if (drmIoctl(drm, DRM_IOCTL_PRIME_HANDLE_TO_FD, &arg))
		return -errno;
	*fd = arg.fd;
	return 0;
}

static int fd_to_handle(int drm, int fd, uint32_t *handle)
{
	struct drm_prime_handle arg = { .fd = fd };

	if (drmIoctl(drm, DRM_IOCTL_PRIME_FD_TO_HANDLE, &arg))
		return -errno;
	*handle = arg.handle;
	return 0;
}

static int gem_close_err(int drm, uint32_t handle)
{
	struct drm_gem_close arg = { .handle = handle };

	return drmIoctl(drm, DRM_IOCTL_GEM_CLOSE, &arg) ? -errno : 0;
}

/* Exporting what is not a handle, or with flags that do not exist. */
TEST_F(bad, export_handle_and_flags)
{
	int fd = -1;

	EXPECT_EQ(handle_to_fd(self->gpu0, 0, DRM_CLOEXEC, &fd), -ENOENT);
	EXPECT_EQ(handle_to_fd(self->gpu0, 0xdeadbeef, DRM_CLOEXEC, &fd),
		  -ENOENT);
	EXPECT_EQ(handle_to_fd(self->gpu0, self->d.handle, 0x80000000U, &fd),
		  -EINVAL);
	/* gpu0's handle means nothing to gpu1. */
	EXPECT_EQ(handle_to_fd(self->gpu1, self->d.handle, DRM_CLOEXEC, &fd),
		  -ENOENT);
	EXPECT_EQ(fd, -1);
}

/* Importing what is not a dma-buf. */
TEST_F(bad, import_fds)
{
	uint32_t h = 0;
	int memfd;

	EXPECT_EQ(fd_to_handle(self->gpu1, -1, &h), -EBADF);
	EXPECT_EQ(fd_to_handle(self->gpu1, 1000000, &h), -EBADF);
	EXPECT_EQ(fd_to_handle(self->gpu1, self->gpu0, &h), -EINVAL);
	memfd = memfd_create("not-a-dmabuf", MFD_CLOEXEC);
	ASSERT_GE(memfd, 0);
	EXPECT_EQ(fd_to_handle(self->gpu1, memfd, &h), -EINVAL);
	close(memfd);
	EXPECT_EQ(h, 0U);
}

/* Dumb buffers of no size, or of sizes that cannot be. */
TEST_F(bad, sizes)
{
	struct drm_mode_create_dumb arg = { .width = 0, .height = 64, .bpp = 32 };

	EXPECT_EQ(drmIoctl(self->gpu0, DRM_IOCTL_MODE_CREATE_DUMB, &arg), -1);
	EXPECT_EQ(errno, EINVAL);
	arg = (struct drm_mode_create_dumb){ .width = 64, .height = 64, .bpp = 0 };
	EXPECT_EQ(drmIoctl(self->gpu0, DRM_IOCTL_MODE_CREATE_DUMB, &arg), -1);
	EXPECT_EQ(errno, EINVAL);
	arg = (struct drm_mode_create_dumb){
		.width = 0xffffffffU, .height = 0xffffffffU, .bpp = 32,
	};
	EXPECT_EQ(drmIoctl(self->gpu0, DRM_IOCTL_MODE_CREATE_DUMB, &arg), -1);
	EXPECT_EQ(errno, EINVAL);
}

/*
 * A dma-buf's CPU side: a mapping beyond its size, sync flags that do not
 * exist.
 */
TEST_F(bad, dmabuf_cpu_access)
{
	struct dma_buf_sync sync = { .flags = 0x80 | DMA_BUF_SYNC_START };
	void *p;

	p = mmap(NULL, self->d.size * 2, PROT_READ, MAP_SHARED, self->fd, 0);
	EXPECT_EQ(p, MAP_FAILED);
	EXPECT_EQ(errno, EINVAL);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, self->d.size);
	EXPECT_EQ(p, MAP_FAILED);
	EXPECT_EQ(errno, EINVAL);
	EXPECT_EQ(ioctl(self->fd, DMA_BUF_IOCTL_SYNC, &sync), -1);
	EXPECT_EQ(errno, EINVAL);
	sync.flags = 0;
	EXPECT_EQ(ioctl(self->fd, DMA_BUF_IOCTL_SYNC, &sync), -1);
	EXPECT_EQ(errno, EINVAL);
}

/* Closing a handle twice, a dma-buf fd twice. */
TEST_F(bad, double_close)
{
	uint32_t h = 0;
	int fd = -1;

	ASSERT_EQ(fd_to_handle(self->gpu1, self->fd, &h), 0);
	EXPECT_EQ(gem_close_err(self->gpu1, h), 0);
	EXPECT_EQ(gem_close_err(self->gpu1, h), -EINVAL);
	EXPECT_EQ(gem_close_err(self->gpu1, 0), -EINVAL);

	ASSERT_EQ(handle_to_fd(self->gpu0, self->d.handle, DRM_CLOEXEC, &fd), 0);
	EXPECT_EQ(close(fd), 0);
	EXPECT_EQ(close(fd), -1);
	EXPECT_EQ(errno, EBADF);
}

/*
 * Another device's object: gpu1 re-exporting what it imported from gpu0
 * hands out gpu0's dma-buf, not an export of its own; gpu0 importing its
 * own export gets its own object back.
 */
TEST_F(bad, other_devices_object)
{
	struct stat a, b;
	uint32_t h1 = 0, h0 = 0;
	int fd1 = -1;

	ASSERT_EQ(fd_to_handle(self->gpu1, self->fd, &h1), 0);
	ASSERT_EQ(handle_to_fd(self->gpu1, h1, DRM_CLOEXEC, &fd1), 0);
	ASSERT_EQ(fstat(self->fd, &a), 0);
	ASSERT_EQ(fstat(fd1, &b), 0);
	EXPECT_EQ(a.st_ino, b.st_ino);
	EXPECT_EQ(export_info(GPU1, fd1, NULL), -ENOENT);
	close(fd1);
	EXPECT_EQ(gem_close_err(self->gpu1, h1), 0);

	ASSERT_EQ(fd_to_handle(self->gpu0, self->fd, &h0), 0);
	EXPECT_EQ(h0, self->d.handle);
}

TEST_HARNESS_MAIN
