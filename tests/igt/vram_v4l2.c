// SPDX-License-Identifier: GPL-2.0
/*
 * V4L2 importing VKMS VRAM: vivid, with its dma-contig allocator (the guest
 * boots with vivid.allocators=1), captures into a dumb buffer of a VKMS
 * device's VRAM exported through the P2P helper. vb2-dma-contig attaches as
 * a pinned importer that allows peer2peer. With the policy "all" the helper
 * maps VRAM for vivid's device directly, in one segment; with "none" it
 * moves the buffer to system memory first and pins it there, in one
 * physically contiguous range: vivid's device has no IOMMU, and dma-contig
 * maps only buffers that are one range of DMA addresses. Either way the
 * frame is the one vivid captures into its own buffers, the pin keeps the
 * buffer where it is under VRAM pressure, and bad or revoked buffers are
 * refused with an error.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <poll.h>
#include <sys/mman.h>
#include <linux/udmabuf.h>
#include <linux/videodev2.h>

#include "drm_p2p_test.h"

#define GPU	"cam"

/* vivid's own controls (drivers/media/test-drivers/vivid/vivid-ctrls.c). */
#define VIVID_CID_VIVID_BASE	(0x00f00000 | 0xf000)
#define VIVID_CID_TEST_PATTERN	(VIVID_CID_VIVID_BASE + 0)
#define VIVID_CID_OSD_TEXT_MODE	(VIVID_CID_VIVID_BASE + 1)
#define VIVID_OSD_NONE		2

/* A webcam size vivid offers, for the multi-planar test. */
#define CAP_WIDTH	640
#define CAP_HEIGHT	360
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

/*
 * Frames of the sizes users capture, in dumb buffers of exactly their size
 * (XRGB8888): 1228800 and 8294400 bytes, more than the largest chunk TTM's
 * pool gives (MAX_PAGE_ORDER), so that in system memory dma-contig gets one
 * range only if the exporter made it contiguous.
 */
FIXTURE_VARIANT(cap) {
	const char *policy;
	const char *visible;	/* vram_visible; NULL: peers reach all VRAM */
	size_t window;		/* the same in bytes, or 0 */
	bool p2p;
	unsigned int width, height;
};

FIXTURE_VARIANT_ADD(cap, all_640x480) {
	.policy = "all",
	.p2p = true,
	.width = 640, .height = 480,
};

FIXTURE_VARIANT_ADD(cap, none_640x480) {
	.policy = "none",
	.p2p = false,
	.width = 640, .height = 480,
};

FIXTURE_VARIANT_ADD(cap, all_1920x1080) {
	.policy = "all",
	.p2p = true,
	.width = 1920, .height = 1080,
};

FIXTURE_VARIANT_ADD(cap, none_1920x1080) {
	.policy = "none",
	.p2p = false,
	.width = 1920, .height = 1080,
};

/*
 * A small BAR: vivid reaches only the start of the 16 MiB of VRAM. 8 MiB,
 * which a 640x480 frame fits: mapped there. 4 MiB, which a 1920x1080 frame
 * (8294400 bytes) does not fit: vivid gets it in system memory, as with
 * the policy "none".
 */
FIXTURE_VARIANT_ADD(cap, small_bar_640x480) {
	.policy = "all",
	.visible = "8M",
	.window = 8 << 20,
	.p2p = true,
	.width = 640, .height = 480,
};

FIXTURE_VARIANT_ADD(cap, small_bar_1920x1080) {
	.policy = "all",
	.visible = "4M",
	.window = 4 << 20,
	.p2p = false,
	.width = 1920, .height = 1080,
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
	self->fmt.fmt.pix.width = variant->width;
	self->fmt.fmt.pix.height = variant->height;
	self->fmt.fmt.pix.pixelformat = V4L2_PIX_FMT_XRGB32;
	self->fmt.fmt.pix.field = V4L2_FIELD_NONE;
	ASSERT_EQ(ioctl(self->vfd, VIDIOC_S_FMT, &self->fmt), 0);
	ASSERT_EQ(self->fmt.fmt.pix.pixelformat, V4L2_PIX_FMT_XRGB32);
	ASSERT_EQ(self->fmt.fmt.pix.width, variant->width);
	ASSERT_EQ(self->fmt.fmt.pix.height, variant->height);
	ASSERT_EQ(self->fmt.fmt.pix.sizeimage, variant->width * variant->height * 4);
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

	ASSERT_EQ(vkms_make_gpu_bar(GPU, "16M", variant->visible,
				    variant->policy), 0);
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

/* A frame's dumb buffer in the device's VRAM, set to SENTINEL; its dma-buf. */
static int vram_buffer(struct __test_metadata *_metadata,
		       const struct _fixture_variant_cap *variant, int gpu,
		       struct dumb *d, uint8_t **map)
{
	struct export_info info;
	int fd = -1;

	EXPECT_EQ(dumb_create(gpu, variant->width, variant->height, d), 0);
	EXPECT_EQ(d->size, (uint64_t)variant->width * variant->height * 4);
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
		/*
		 * Straight from VRAM to contiguous system memory (VKMS's
		 * domain 3), once: vivid has no IOMMU, and dma-contig maps
		 * only one range.
		 */
		EXPECT_STREQ(info->placement, "system");
		EXPECT_EQ(info->mem_type, 3U);
		EXPECT_EQ(info->migrations, 1U);
		EXPECT_NE(strstr(line, " p2p=no "), NULL);
		EXPECT_NE(strstr(line, " kind=pages "), NULL);
		EXPECT_NE(strstr(line, " entries=1 "), NULL) TH_LOG("%s", line);
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

	fd = vram_buffer(_metadata, variant, self->gpu, &d, &map);
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
	for (i = 1; i < variant->width; i++)
		colours += (px[i] & 0xffffff) != (px[i - 1] & 0xffffff);
	EXPECT_GE(colours, 3);

	/* Queued again: still mapped and pinned where it was, nothing moved. */
	memset(map, SENTINEL, d.size);
	ASSERT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd, d.size), 0);
	ASSERT_EQ(capture_one(self->vfd, V4L2_MEMORY_DMABUF, &used), 0);
	EXPECT_EQ(memcmp(map, self->ref, n), 0);
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	check_mapped(_metadata, variant, &info);

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

	fd = vram_buffer(_metadata, variant, self->gpu, &d, &map);
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
 * A frame's buffer placed high in VRAM, reaching beyond the part a small BAR
 * shows peers (or beyond 4 MiB without one; a 1920x1080 frame does wherever
 * it is): the buffers below it go, and vivid queues it. Behind a small BAR
 * the exporter moves it into the window, or to system memory when it does
 * not fit there; without one it stays where it is. vivid captures the same
 * frame either way.
 */
TEST_F(cap, placed_high)
{
	size_t high = variant->window ?: 4 << 20;
	struct dumb frames[16], d;
	struct export_info info;
	int fds[16], n, fd = -1;
	size_t n_img = self->fmt.fmt.pix.sizeimage;
	uint32_t used;
	uint8_t *map;
	const char *line;

	/* Frames until one reaches beyond @high: the rest fill below it. */
	for (n = 0; n < 16; n++) {
		fds[n] = vram_buffer(_metadata, variant, self->gpu, &frames[n],
				     &map);
		ASSERT_GE(fds[n], 0);
		munmap(map, frames[n].size);
		ASSERT_EQ(export_info(GPU, fds[n], &info), 0);
		if (info.offset + frames[n].size > high)
			break;
	}
	ASSERT_LT(n, 16) TH_LOG("no frame beyond %zu bytes of VRAM", high);
	d = frames[n];
	fd = fds[n];
	while (n--) {
		close(fds[n]);
		gem_close(self->gpu, frames[n].handle);
	}
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	ASSERT_STREQ(info.placement, "device");
	ASSERT_GT(info.offset + (long long)d.size, (long long)high);
	map = dumb_map(self->gpu, &d);
	ASSERT_NE(map, NULL);
	memset(map, SENTINEL, d.size);

	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 1), 0);
	ASSERT_EQ(qbuf(self->vfd, V4L2_MEMORY_DMABUF, fd, d.size), 0);
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	show("a frame placed high in VRAM, queued to vivid", &info);
	line = attach_line(&info, "vivid");
	ASSERT_NE(line, NULL) TH_LOG("%s", info.text);
	if (variant->p2p && variant->window) {
		/* Moved into the window, and mapped there. */
		EXPECT_STREQ(info.placement, "device");
		EXPECT_EQ(info.migrations, 1U);
		EXPECT_LE(info.offset + (long long)d.size,
			  (long long)variant->window) TH_LOG("%s", info.text);
		EXPECT_NE(strstr(line, " kind=p2p-resource "), NULL);
	} else if (variant->p2p) {
		/* All of VRAM reached: it stays. */
		EXPECT_STREQ(info.placement, "device");
		EXPECT_EQ(info.migrations, 0U);
		EXPECT_GT(info.offset + (long long)d.size, (long long)high);
		EXPECT_NE(strstr(line, " kind=p2p-resource "), NULL);
	} else {
		EXPECT_STREQ(info.placement, "system");
		EXPECT_EQ(info.migrations, 1U);
		EXPECT_NE(strstr(line, " kind=pages "), NULL);
	}
	EXPECT_NE(strstr(line, " entries=1 "), NULL) TH_LOG("%s", line);

	ASSERT_EQ(capture_one(self->vfd, V4L2_MEMORY_DMABUF, &used), 0);
	ASSERT_EQ(used, n_img);
	EXPECT_EQ(memcmp(map, self->ref, n_img), 0);
	ASSERT_EQ(reqbufs(self->vfd, V4L2_MEMORY_DMABUF, 0), 0);
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

	fd = vram_buffer(_metadata, variant, self->gpu, &d, &map);
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

	fd = vram_buffer(_metadata, variant, self->gpu, &d, &map);
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

/* The capture node of the multi-planar vivid instance; -1 if there is none. */
static int open_vivid_mplane(void)
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
		    (cap.device_caps & V4L2_CAP_VIDEO_CAPTURE_MPLANE))
			return fd;
		close(fd);
	}
	return -1;
}

/* How many dma-bufs there are, as the dma-buf core's debugfs counts them. */
static int dmabuf_count(void)
{
	char line[256];
	int n = -1;
	FILE *f;

	f = fopen("/sys/kernel/debug/dma_buf/bufinfo", "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		sscanf(line, "Total %d objects", &n);
	fclose(f);
	return n;
}

/* Is the memory behind @p physically contiguous? -1 if pagemap cannot say. */
static int phys_contiguous(const void *p, size_t size)
{
	long psz = sysconf(_SC_PAGESIZE);
	uint64_t e, first = 0;
	size_t i;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < size / psz; i++) {
		off_t at = ((uintptr_t)p / psz + i) * sizeof(e);

		if (pread(fd, &e, sizeof(e), at) != sizeof(e) ||
		    !(e & (1ULL << 63)) || !(e & ((1ULL << 55) - 1))) {
			close(fd);
			return -1;
		}
		e &= (1ULL << 55) - 1;
		if (!i)
			first = e;
		else if (e != first + i)
			break;
	}
	close(fd);
	return i == size / psz;
}

/*
 * A dma-buf of @size bytes of memfd pages (udmabuf), the pages interleaved
 * with another memfd's as they are faulted in, so that they are not
 * physically contiguous (checked); -errno on failure.
 */
static int scattered_dmabuf(size_t size, int *contiguous)
{
	struct udmabuf_create c = { .flags = UDMABUF_FLAGS_CLOEXEC,
				    .size = size };
	long psz = sysconf(_SC_PAGESIZE);
	uint8_t *p[2] = { MAP_FAILED, MAP_FAILED };
	int mfd[2] = { -1, -1 }, dev, fd, i;
	size_t off;

	for (i = 0; i < 2; i++) {
		mfd[i] = memfd_create("scattered", MFD_ALLOW_SEALING);
		if (mfd[i] < 0 || ftruncate(mfd[i], size))
			goto fail;
		p[i] = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			    mfd[i], 0);
		if (p[i] == MAP_FAILED)
			goto fail;
	}
	for (off = 0; off < size; off += psz) {
		p[0][off] = 1;
		p[1][off] = 1;
	}
	*contiguous = phys_contiguous(p[0], size);
	if (fcntl(mfd[0], F_ADD_SEALS, F_SEAL_SHRINK))
		goto fail;
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		goto fail;
	c.memfd = mfd[0];
	fd = ioctl(dev, UDMABUF_CREATE, &c);
	if (fd < 0)
		fd = -errno;
	close(dev);
	goto out;
fail:
	fd = -errno;
out:
	for (i = 0; i < 2; i++) {
		if (p[i] != MAP_FAILED)
			munmap(p[i], size);
		if (mfd[i] >= 0)
			close(mfd[i]);
	}
	return fd;
}

/*
 * A multi-planar buffer whose first plane cannot be mapped: vb2 must let go
 * of every plane's dma-buf, those after the failing one included. The
 * first plane's pages are not contiguous, which dma-contig refuses at map
 * time, with EFAULT; the second is a vgem buffer. Every dma-buf is gone
 * once the test let go of them.
 */
TEST(mplane_map_fails)
{
	struct v4l2_format fmt = { .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE };
	struct v4l2_requestbuffers rb = {
		.count = 1, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
		.memory = V4L2_MEMORY_DMABUF,
	};
	struct v4l2_plane planes[2] = { 0 };
	struct v4l2_buffer b = {
		.index = 0, .type = V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE,
		.memory = V4L2_MEMORY_DMABUF, .length = 2, .m.planes = planes,
	};
	long psz = sysconf(_SC_PAGESIZE);
	int vfd, vgem, fd[2], before, ret, err, contiguous = -1;
	struct dumb d = { 0 };
	size_t size;

	vfd = open_vivid_mplane();
	ASSERT_GE(vfd, 0) TH_LOG("no multi-planar vivid capture node");
	vgem = open_driver("vgem", 0);
	ASSERT_GE(vgem, 0) TH_LOG("no vgem device");
	fmt.fmt.pix_mp.width = CAP_WIDTH;
	fmt.fmt.pix_mp.height = CAP_HEIGHT;
	fmt.fmt.pix_mp.pixelformat = V4L2_PIX_FMT_NV12M;
	fmt.fmt.pix_mp.num_planes = 2;
	ASSERT_EQ(ioctl(vfd, VIDIOC_S_FMT, &fmt), 0);
	ASSERT_EQ(fmt.fmt.pix_mp.pixelformat, V4L2_PIX_FMT_NV12M);
	ASSERT_EQ(fmt.fmt.pix_mp.num_planes, 2);
	ASSERT_EQ(ioctl(vfd, VIDIOC_REQBUFS, &rb), 0);
	before = dmabuf_count();
	ASSERT_GE(before, 0) TH_LOG("no dma-buf debugfs");

	size = (fmt.fmt.pix_mp.plane_fmt[0].sizeimage + psz - 1) / psz * psz;
	fd[0] = scattered_dmabuf(size, &contiguous);
	ASSERT_GE(fd[0], 0) TH_LOG("udmabuf: %s", strerror(-fd[0]));
	ASSERT_EQ(contiguous, 0) TH_LOG("plane 0's pages are contiguous (1) or unknown (-1)");
	ASSERT_EQ(dumb_create(vgem, CAP_WIDTH, CAP_HEIGHT / 2, &d), 0);
	ASSERT_GE(d.size, fmt.fmt.pix_mp.plane_fmt[1].sizeimage);
	ASSERT_EQ(drmPrimeHandleToFD(vgem, d.handle, DRM_CLOEXEC, &fd[1]), 0);
	EXPECT_EQ(dmabuf_count(), before + 2);

	planes[0].m.fd = fd[0];
	planes[1].m.fd = fd[1];
	ret = ioctl(vfd, VIDIOC_QBUF, &b);
	err = errno;
	EXPECT_EQ(ret, -1);
	EXPECT_EQ(err, EFAULT) TH_LOG("QBUF: %s", strerror(err));

	rb.count = 0;
	EXPECT_EQ(ioctl(vfd, VIDIOC_REQBUFS, &rb), 0);
	close(vfd);
	close(fd[0]);
	close(fd[1]);
	gem_close(vgem, d.handle);
	close(vgem);
	EXPECT_EQ(dmabuf_count(), before)
		TH_LOG("a dma-buf vb2 took for the buffer is still there");
}

TEST_HARNESS_MAIN
