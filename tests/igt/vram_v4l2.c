// SPDX-License-Identifier: GPL-2.0
/*
 * V4L2 importing VKMS VRAM: vivid, with its dma-contig allocator (the guest
 * boots with vivid.allocators=1), captures into a dumb buffer of a VKMS
 * device's VRAM exported through the P2P helper. vb2-dma-contig attaches as
 * a pinned importer that allows peer2peer. With the policy "all" the helper
 * maps VRAM for vivid's device directly, in one segment; with "none" it
 * moves the buffer to system memory first and pins it there. Either way the
 * frame is the one vivid captures into its own buffers, the pin keeps the
 * buffer where it is under VRAM pressure, and bad or revoked buffers are
 * refused with an error.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <poll.h>
#include <linux/videodev2.h>

#include "drm_p2p_test.h"

#define GPU	"cam"

/* vivid's own controls (drivers/media/test-drivers/vivid/vivid-ctrls.c). */
#define VIVID_CID_VIVID_BASE	(0x00f00000 | 0xf000)
#define VIVID_CID_TEST_PATTERN	(VIVID_CID_VIVID_BASE + 0)
#define VIVID_CID_OSD_TEXT_MODE	(VIVID_CID_VIVID_BASE + 1)
#define VIVID_OSD_NONE		2

/* A webcam size vivid offers; the frame fits a 1 MiB buffer. */
#define CAP_WIDTH	640
#define CAP_HEIGHT	360
/*
 * The dumb buffer: 1 MiB, a power of two pages, so that TTM's pool backs it
 * with one contiguous chunk when it moves to system memory: dma-contig maps
 * only contiguous buffers.
 */
#define BUF_WIDTH	512
#define BUF_HEIGHT	512
#define SENTINEL	0x5a

/* The capture node of the first vivid instance; -1 if there is none. */
static int open_vivid(void)
{
	struct v4l2_capability cap;
	char path[32];
	int i, fd;

	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/dev/video%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		memset(&cap, 0, sizeof(cap));
		if (!ioctl(fd, VIDIOC_QUERYCAP, &cap) &&
		    !strcmp((char *)cap.driver, "vivid") &&
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE) &&
		    (cap.device_caps & V4L2_CAP_STREAMING))
			return fd;
		close(fd);
	}
	return -1;
}

static int set_ctrl(int vfd, uint32_t id, int32_t value)
{
	struct v4l2_ext_control c = { .id = id, .value = value };
	struct v4l2_ext_controls cs = {
		.which = V4L2_CTRL_WHICH_CUR_VAL, .count = 1, .controls = &c,
	};

	return ioctl(vfd, VIDIOC_S_EXT_CTRLS, &cs) ? -errno : 0;
}

static int reqbufs(int vfd, enum v4l2_memory memory, uint32_t count)
{
	struct v4l2_requestbuffers rb = {
		.count = count, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};

	return ioctl(vfd, VIDIOC_REQBUFS, &rb) ? -errno : 0;
}

/* Queue buffer 0: a dma-buf of @length bytes (0: its size), or MMAP. */
static int qbuf(int vfd, enum v4l2_memory memory, int dmabuf, uint32_t length)
{
	struct v4l2_buffer b = {
		.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = memory,
	};

	if (memory == V4L2_MEMORY_DMABUF) {
		b.m.fd = dmabuf;
		b.length = length;
	}
	return ioctl(vfd, VIDIOC_QBUF, &b) ? -errno : 0;
}

/* Start streaming, wait for the queued buffer, dequeue it, stop. */
static int capture_one(int vfd, enum v4l2_memory memory, uint32_t *bytesused)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct pollfd pfd = { .fd = vfd, .events = POLLIN };
	struct v4l2_buffer b = { .type = type, .memory = memory };
	int err = 0;

	if (ioctl(vfd, VIDIOC_STREAMON, &type))
		return -errno;
	if (poll(&pfd, 1, 10000) != 1)
		err = -ETIMEDOUT;
	else if (ioctl(vfd, VIDIOC_DQBUF, &b))
		err = -errno;
	else if (b.flags & V4L2_BUF_FLAG_ERROR)
		err = -EIO;
	*bytesused = b.bytesused;
	ioctl(vfd, VIDIOC_STREAMOFF, &type);
	return err;
}

FIXTURE(cap) {
	int gpu, vfd;
	struct v4l2_format fmt;
	uint8_t *ref;		/* a frame vivid captured into its own buffer */
};

FIXTURE_VARIANT(cap) {
	const char *policy;
	bool p2p;
};

FIXTURE_VARIANT_ADD(cap, all) {
	.policy = "all",
	.p2p = true,
};

FIXTURE_VARIANT_ADD(cap, none) {
	.policy = "none",
	.p2p = false,
};

FIXTURE_SETUP(cap)
{
	struct v4l2_buffer b = {
		.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
		.memory = V4L2_MEMORY_MMAP,
	};
	uint32_t used;
	int input = 0;
	void *p;

	self->gpu = -1;
	self->ref = NULL;
	self->vfd = open_vivid();
	ASSERT_GE(self->vfd, 0) TH_LOG("no vivid capture node");
	ASSERT_EQ(ioctl(self->vfd, VIDIOC_S_INPUT, &input), 0);
	self->fmt.type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	self->fmt.fmt.pix.width = CAP_WIDTH;
	self->fmt.fmt.pix.height = CAP_HEIGHT;
	self->fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_XRGB32;
	self->fmt.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(ioctl(self->vfd, VIDIOC_S_FMT, &self->fmt), 0);
	ASSERT_EQ(self->fmt.fmt.pix.pixelformat, V4L2_PIX_FMT_XRGB32);
	ASSERT_LE(self->fmt.fmt.pix.sizeimage, BUF_WIDTH * BUF_HEIGHT * 4U);
	/* Colour bars and no text: every frame is the same. */
	ASSERT_EQ(set_ctrl(self->vfd, VIVID_CID_TEST_PATTERN, 0), 0);
	ASSERT_EQ(set_ctrl(self->vfd, VIVID_CID_OSD_TEXT_MODE, VIVID_OSD_NONE), 0);

	/* The reference: a frame in vivid's own (dma-contig) buffer. */
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_MMAP, 1), 0);
	ASSERT_EQ(ioctl(self->vfd, VIDIOC_QUERYBUF, &b), 0);
	p = mmap(NULL, b.length, PROT_READ, MAP_SHARED, self->vfd, b.m.offset);
	ASSERT_NE(p, MAP_FAILED);
	ASSERT_EQ(qbuf(self->vfd, V4L2_MEMORY_MMAP, -1, 0), 0);
	ASSERT_EQ(capture_one(self->vfd, V4L2_MEMORY_MMAP, &used), 0);
	ASSERT_EQ(used, self->fmt.fmt.pix.sizeimage);
	self->ref = malloc(used);
	ASSERT_NE(self->ref, NULL);
	memcpy(self->ref, p, used);
	munmap(p, b.length);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_MMAP, 0), 0);

	ASSERT_EQ(vkms_make_gpu(GPU, "16M", variant->policy), 0);
	self->gpu = open_vkms(GPU);
	ASSERT_GE(self->gpu, 0);
}

FIXTURE_TEARDOWN(cap)
{
	if (self->vfd >= 0) {
		reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 0);
		close(self->vfd);
	}
	if (self->gpu >= 0)
		close(self->gpu);
	free(self->ref);
	vkms_remove(GPU);
}

/* A 1 MiB dumb buffer in the device's VRAM, set to SENTINEL; its dma-buf. */
static int vram_buffer(struct __test_metadata *_metadata, int gpu,
		       struct dumb *d, uint8_t **map)
{
	struct export_info info;
	int fd = -1;

	EXPECT_EQ(dumb_create(gpu, BUF_WIDTH, BUF_HEIGHT, d), 0);
	*map = dumb_map(gpu, d);
	EXPECT_NE(*map, NULL);
	if (!*map)
		return -1;
	memset(*map, SENTINEL, d->size);
	EXPECT_EQ(drmPrimeHandleToFD(gpu, d->handle, DRM_CLOEXEC | DRM_RDWR,
				     &fd), 0);
	EXPECT_EQ(export_info(GPU, fd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	return fd;
}

/* Assert what the exporter says of vivid's attachment while it is mapped. */
static void check_mapped(struct __test_metadata *_metadata,
			 const struct _fixture_variant_cap *variant,
			 const struct export_info *info)
{
	const char *line = attach_line(info, "vivid");

	ASSERT_NE(line, NULL) TH_LOG("no vivid attachment:\n%s", info->text);
	EXPECT_NE(strstr(line, " dynamic=yes "), NULL);
	EXPECT_NE(strstr(line, " pins=1 "), NULL);
	EXPECT_GE(info->pinned, 1);
	if (variant->p2p) {
		EXPECT_STREQ(info->placement, "device");
		EXPECT_EQ(info->migrations, 0U);
		EXPECT_NE(strstr(line, " p2p=yes "), NULL);
		EXPECT_NE(strstr(line, " kind=p2p-resource "), NULL);
		/* One contiguous range, vivid's segment limit is 4 GiB. */
		EXPECT_NE(strstr(line, " entries=1 "), NULL) TH_LOG("%s", line);
	} else {
		EXPECT_STREQ(info->placement, "system");
		EXPECT_GE(info->migrations, 1U);
		EXPECT_NE(strstr(line, " p2p=no "), NULL);
		EXPECT_NE(strstr(line, " kind=pages "), NULL);
	}
}

/*
 * vivid captures a frame into VKMS VRAM: the exporter maps it as the policy
 * says, and the buffer holds the frame vivid captures into its own buffers.
 */
TEST_F(cap, capture)
{
	struct export_info info;
	size_t n = self->fmt.fmt.pix.sizeimage, i;
	uint32_t used, *px;
	struct dumb d;
	uint8_t *map;
	int fd, colours = 0;

	fd = vram_buffer(_metadata, self->gpu, &d, &map);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 1), 0);
	ASSERT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd, d.size), 0);
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	check_mapped(_metadata, variant, &info);
	show(variant->p2p ? "vivid captures into VKMS VRAM (policy all)" :
	     "vivid captures into a VKMS VRAM buffer (policy none)", &info);

	ASSERT_EQ(capture_one(self->vfd, V4L2_MEMORY_DMABUF, &used), 0);
	ASSERT_EQ(used, n);
	/* Read where the buffer is now, through VKMS's own CPU mapping. */
	EXPECT_EQ(memcmp(map, self->ref, n), 0);
	for (i = n; i < d.size && map[i] == SENTINEL; i++)
		;
	EXPECT_EQ(i, d.size) TH_LOG("vivid wrote past its frame at %zu", i);
	/* Colour bars: not one colour, so not a blank or a stale frame. */
	px = (uint32_t *)map;
	for (i = 1; i < CAP_WIDTH; i++)
		colours += (px[i] & 0xffffff) != (px[i - 1] & 0xffffff);
	EXPECT_GE(colours, 3);

	/* Released: unmapped, unpinned, detached. */
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 0), 0);
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	EXPECT_EQ(attach_line(&info, "vivid"), NULL);
	EXPECT_EQ(info.pinned, 0);
	munmap(map, d.size);
	close(fd);
	gem_close(self->gpu, d.handle);
}

/*
 * While vivid holds the buffer, its pin keeps it where it is: filling VRAM
 * neither evicts nor invalidates it, and the frame stays intact.
 */
TEST_F(cap, pin_blocks_eviction)
{
	struct export_info before, after;
	struct dumb d, hogs[8];
	uint32_t used;
	int made;
	uint8_t *map;
	int fd;

	fd = vram_buffer(_metadata, self->gpu, &d, &map);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 1), 0);
	ASSERT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd, d.size), 0);
	ASSERT_EQ(capture_one(self->vfd, V4L2_MEMORY_DMABUF, &used), 0);
	ASSERT_EQ(export_info(GPU, fd, &before), 0);
	check_mapped(_metadata, variant, &before);

	/* 8 x 4 MiB into 16 MiB of VRAM: whatever can move, moves. */
	made = vram_press(self->gpu, hogs, ARRAY_SIZE(hogs), NULL, -1);
	EXPECT_EQ(made, (int)ARRAY_SIZE(hogs));

	ASSERT_EQ(export_info(GPU, fd, &after), 0);
	show("after 32 MiB of buffers went into 16 MiB of VRAM", &after);
	EXPECT_STREQ(after.placement, before.placement);
	EXPECT_EQ(after.migrations, before.migrations);
	EXPECT_EQ(after.invalidations, before.invalidations);
	check_mapped(_metadata, variant, &after);
	EXPECT_EQ(memcmp(map, self->ref, self->fmt.fmt.pix.sizeimage), 0);

	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 0), 0);
	vram_press_end(self->gpu, hogs, made);
	munmap(map, d.size);
	close(fd);
	gem_close(self->gpu, d.handle);
}

/*
 * Buffers vivid cannot take are refused at QBUF with EINVAL: no dma-buf, a
 * file that is not one, a length short of the frame, a dma-buf too small.
 */
TEST_F(cap, bad_buffers)
{
	struct dumb d, small = { 0 };
	uint8_t *map;
	int fd, sfd = -1;

	fd = vram_buffer(_metadata, self->gpu, &d, &map);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 1), 0);
	EXPECT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, -1, 0), -EINVAL);
	EXPECT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, self->gpu, 0), -EINVAL);
	EXPECT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd,
		       self->fmt.fmt.pix.sizeimage / 2), -EINVAL);
	ASSERT_EQ(dumb_create(self->gpu, 64, 64, &small), 0);
	ASSERT_EQ(drmPrimeHandleToFD(self->gpu, small.handle, DRM_CLOEXEC,
				     &sfd), 0);
	EXPECT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, sfd, 0), -EINVAL);
	/* Nothing of it stuck: the good buffer still goes through. */
	EXPECT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd, 0), 0);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 0), 0);
	close(sfd);
	gem_close(self->gpu, small.handle);
	munmap(map, d.size);
	close(fd);
	gem_close(self->gpu, d.handle);
}

/*
 * Once the exporting device is gone its buffers are revoked: vivid's QBUF
 * fails with ENODEV and the queue is still usable.
 */
TEST_F(cap, revoked)
{
	struct export_info info;
	struct dumb d;
	uint8_t *map;
	uint32_t used;
	int fd;

	fd = vram_buffer(_metadata, self->gpu, &d, &map);
	ASSERT_GE(fd, 0);
	munmap(map, d.size);
	close(self->gpu);
	self->gpu = -1;
	vkms_remove(GPU);
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	EXPECT_NE(strstr(info.text, "revoked: yes"), NULL);

	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 1), 0);
	EXPECT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd, 0), -ENODEV);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 0), 0);
	close(fd);

	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_MMAP, 1), 0);
	ASSERT_EQ(qbuf(self->vfd, V4L2_MEMORY_MMAP, -1, 0), 0);
	EXPECT_EQ(capture_one(self->vfd, V4L2_MEMORY_MMAP, &used), 0);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_MMAP, 0), 0);
}

TEST_HARNESS_MAIN
