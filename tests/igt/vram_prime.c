// SPDX-License-Identifier: GPL-2.0
/*
 * Sharing VKMS VRAM: a dumb buffer in the VRAM of one VKMS device ("gpu0")
 * exported through the P2P helper and imported into vgem and into a second
 * VKMS device ("gpu1"): contents both ways, what the second device displays
 * against a native frame of the same content (CRC), what each importer got
 * per the exporter's peer-to-peer policy, eviction while imported, a pin
 * that blocks it, and revocation when the exporter goes away.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <sys/mman.h>
#include <linux/udmabuf.h>

#include "drm_p2p_test.h"

#define GPU0	"gpu0"
#define GPU1	"gpu1"

FIXTURE(share) {
	int gpu0, gpu1, vgem;
	uint32_t crtc, conn;
	drmModeModeInfo mode;
};

FIXTURE_VARIANT(share) {
	const char *policy;
};

FIXTURE_VARIANT_ADD(share, vkms) {
	.policy = "vkms",
};

FIXTURE_VARIANT_ADD(share, none) {
	.policy = "none",
};

FIXTURE_SETUP(share)
{
	self->gpu0 = -1;
	self->gpu1 = -1;
	self->vgem = -1;
	ASSERT_EQ(vkms_make_gpu(GPU0, "16M", variant->policy), 0);
	ASSERT_EQ(vkms_make_gpu(GPU1, "16M", variant->policy), 0);
	self->gpu0 = open_vkms(GPU0);
	self->gpu1 = open_vkms(GPU1);
	self->vgem = open_driver("vgem", 0);
	ASSERT_GE(self->gpu0, 0);
	ASSERT_GE(self->gpu1, 0);
	ASSERT_GE(self->vgem, 0);
	ASSERT_EQ(find_output(self->gpu1, &self->crtc, &self->conn,
			      &self->mode), 0);
}

FIXTURE_TEARDOWN(share)
{
	if (self->vgem >= 0)
		close(self->vgem);
	if (self->gpu1 >= 0)
		close(self->gpu1);
	if (self->gpu0 >= 0)
		close(self->gpu0);
	vkms_remove(GPU1);
	vkms_remove(GPU0);
}

/* A buffer of the output's size in gpu0's VRAM, filled, and its dma-buf. */
static int vram_buffer(struct __test_metadata *_metadata,
		       struct _test_data_share *self, struct dumb *d, uint32_t seed)
{
	struct export_info info;
	uint32_t *p;
	int fd = -1;

	EXPECT_EQ(dumb_create(self->gpu0, self->mode.hdisplay,
			      self->mode.vdisplay, d), 0);
	p = dumb_map(self->gpu0, d);
	EXPECT_NE(p, NULL);
	if (!p)
		return -1;
	fill(p, d->size, seed);
	munmap(p, d->size);
	EXPECT_EQ(drmPrimeHandleToFD(self->gpu0, d->handle,
				     DRM_CLOEXEC | DRM_RDWR, &fd), 0);
	EXPECT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	return fd;
}

/* The CRC of the frame @fb makes on gpu1's output, a few frames in. */
static int crc_of(struct _test_data_share *self, uint32_t fb, uint32_t *crc)
{
	return crtc_crc(GPU1, self->gpu1, self->crtc, self->conn, &self->mode,
			fb, crc);
}

static int add_fb(struct _test_data_share *self, uint32_t handle, uint32_t pitch,
		  uint32_t *fb)
{
	uint32_t handles[4] = { handle }, pitches[4] = { pitch }, offsets[4] = { 0 };

	return drmModeAddFB2(self->gpu1, self->mode.hdisplay,
			     self->mode.vdisplay, DRM_FORMAT_XRGB8888, handles,
			     pitches, offsets, fb, 0);
}

/*
 * vgem imports statically and cannot reach VRAM; contents go both ways.
 */
TEST_F(share, to_vgem)
{
	struct export_info info;
	struct dumb d = { 0 };
	uint32_t handle = 0;
	const char *a;
	uint32_t *p;
	int fd;

	fd = vram_buffer(_metadata, self, &d, 0x1234);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(drmPrimeFDToHandle(self->vgem, fd, &handle), 0);

	/*
	 * A static importer that cannot reach VRAM: attached without
	 * peer-to-peer. vgem never maps its imports (it reads them through
	 * the dma-buf), so nothing pins or moves the buffer.
	 */
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	EXPECT_EQ(info.pinned, 0);
	EXPECT_EQ(info.migrations, 0U);
	show("gpu0's VRAM buffer, imported by vgem", &info);
	a = attach_line(&info, "faux_driver vgem");
	ASSERT_NE(a, NULL) TH_LOG("%s", info.text);
	EXPECT_TRUE(!strncmp(strstr(a, "p2p="), "p2p=no dynamic=no kind=none", 27))
		TH_LOG("%s", a);

	p = dmabuf_map(fd, d.size);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, d.size, 0x1234), 0ULL);
	fill(p, d.size, 0x4321);
	dmabuf_unmap(fd, p, d.size);
	p = dumb_map(self->gpu0, &d);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, d.size, 0x4321), 0ULL);
	munmap(p, d.size);

	/* vgem lets go: nothing of its attachment is left. */
	gem_close(self->vgem, handle);
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_EQ(attach_line(&info, "faux_driver vgem"), NULL);
	close(fd);
	gem_close(self->gpu0, d.handle);
}

/*
 * gpu1 imports dynamically, allowing peer-to-peer: the policy decides
 * whether it reaches gpu0's VRAM. The buffer stays in VRAM either way (gpu1
 * never maps it for DMA), and the frame gpu1 displays from it has the CRC of
 * the same content in a buffer of its own.
 */
TEST_F(share, to_vkms)
{
	uint32_t handle = 0, fb_native = 0, fb_import = 0, fb_other = 0;
	uint32_t crc_native = 0, crc_import = 0, crc_other = 0;
	struct dumb d = { 0 }, native = { 0 }, other = { 0 };
	struct export_info info;
	const char *a, *want;
	uint32_t *p;
	int fd;

	fd = vram_buffer(_metadata, self, &d, 0xc0ffee);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(drmPrimeFDToHandle(self->gpu1, fd, &handle), 0);
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	EXPECT_EQ(info.migrations, 0U);
	show(strcmp(variant->policy, "none") ?
	     "gpu0's VRAM buffer, imported by gpu1 (policy vkms: gpu1 reaches it)" :
	     "gpu0's VRAM buffer, imported by gpu1 (policy none: it does not)",
	     &info);
	a = attach_line(&info, "faux_driver " GPU1);
	ASSERT_NE(a, NULL) TH_LOG("%s", info.text);
	want = strcmp(variant->policy, "none") ? "p2p=yes dynamic=yes" :
						"p2p=no dynamic=yes";
	EXPECT_TRUE(!strncmp(strstr(a, "p2p="), want, strlen(want)))
		TH_LOG("%s", a);

	ASSERT_EQ(dumb_create(self->gpu1, self->mode.hdisplay,
			      self->mode.vdisplay, &native), 0);
	p = dumb_map(self->gpu1, &native);
	ASSERT_NE(p, NULL);
	fill(p, native.size, 0xc0ffee);
	munmap(p, native.size);
	ASSERT_EQ(dumb_create(self->gpu1, self->mode.hdisplay,
			      self->mode.vdisplay, &other), 0);
	p = dumb_map(self->gpu1, &other);
	ASSERT_NE(p, NULL);
	fill(p, other.size, 0xdecade);
	munmap(p, other.size);

	ASSERT_EQ(add_fb(self, native.handle, native.pitch, &fb_native), 0);
	ASSERT_EQ(add_fb(self, handle, d.pitch, &fb_import), 0);
	ASSERT_EQ(add_fb(self, other.handle, other.pitch, &fb_other), 0);
	ASSERT_EQ(crc_of(self, fb_native, &crc_native), 0);
	ASSERT_EQ(crc_of(self, fb_import, &crc_import), 0);
	ASSERT_EQ(crc_of(self, fb_other, &crc_other), 0);
	EXPECT_EQ(crc_import, crc_native);
	/* A CRC that could not tell frames apart would prove nothing. */
	EXPECT_NE(crc_other, crc_native);

	/* gpu1 wrote nothing; what gpu0 sees is what it wrote. */
	p = dumb_map(self->gpu0, &d);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, d.size, 0xc0ffee), 0ULL);
	munmap(p, d.size);

	drmModeSetCrtc(self->gpu1, self->crtc, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(self->gpu1, fb_other);
	drmModeRmFB(self->gpu1, fb_import);
	drmModeRmFB(self->gpu1, fb_native);
	gem_close(self->gpu1, other.handle);
	gem_close(self->gpu1, native.handle);
	gem_close(self->gpu1, handle);
	close(fd);
	gem_close(self->gpu0, d.handle);
}

/*
 * A VKMS device with VRAM still imports foreign dma-bufs as before: a
 * udmabuf made of a memfd, displayed by gpu1, gives the frame the same
 * content in gpu1's own buffer gives.
 */
TEST_F(share, udmabuf_to_vkms)
{
	uint32_t handle = 0, fb_u = 0, fb_native = 0, crc_u = 0, crc_native = 0;
	struct udmabuf_create create = { 0 };
	struct dumb native = { 0 };
	int memfd, dev, fd;
	uint64_t size;
	uint32_t *p;

	ASSERT_EQ(dumb_create(self->gpu1, self->mode.hdisplay,
			      self->mode.vdisplay, &native), 0);
	size = native.size;
	memfd = memfd_create("vram_prime", MFD_ALLOW_SEALING);
	ASSERT_GE(memfd, 0);
	ASSERT_EQ(ftruncate(memfd, size), 0);
	ASSERT_EQ(fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ASSERT_NE(p, MAP_FAILED);
	fill(p, size, 0x0dab);
	munmap(p, size);
	dev = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
	ASSERT_GE(dev, 0);
	create.memfd = memfd;
	create.flags = UDMABUF_FLAGS_CLOEXEC;
	create.size = size;
	fd = ioctl(dev, UDMABUF_CREATE, &create);
	ASSERT_GE(fd, 0);
	close(dev);
	ASSERT_EQ(drmPrimeFDToHandle(self->gpu1, fd, &handle), 0);

	p = dumb_map(self->gpu1, &native);
	ASSERT_NE(p, NULL);
	fill(p, size, 0x0dab);
	munmap(p, size);
	ASSERT_EQ(add_fb(self, native.handle, native.pitch, &fb_native), 0);
	ASSERT_EQ(add_fb(self, handle, native.pitch, &fb_u), 0);
	ASSERT_EQ(crc_of(self, fb_native, &crc_native), 0);
	ASSERT_EQ(crc_of(self, fb_u, &crc_u), 0);
	EXPECT_EQ(crc_u, crc_native);

	drmModeSetCrtc(self->gpu1, self->crtc, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(self->gpu1, fb_u);
	drmModeRmFB(self->gpu1, fb_native);
	gem_close(self->gpu1, handle);
	gem_close(self->gpu1, native.handle);
	close(fd);
	close(memfd);
}

/*
 * Pressure on gpu0's VRAM evicts the shared buffer: its dynamic importer is
 * told (counted per attachment) and the content survives the move. Scanned
 * out by gpu1, the import is pinned: pressure cannot move it, and a static
 * importer that would need it elsewhere is refused.
 */
TEST_F(share, evict_while_imported)
{
	struct dumb d = { 0 }, hogs[8];
	uint32_t handle = 0, fb = 0, crc_before = 0, crc_after = 0, vh = 0;
	struct export_info info;
	unsigned int inval = 0;
	const char *a;
	uint32_t *p;
	int fd, n = 0, got;
	uint32_t *cpu;

	fd = vram_buffer(_metadata, self, &d, 0xe51c7);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(drmPrimeFDToHandle(self->gpu1, fd, &handle), 0);

	/* Displayed by gpu1: pinned where it is, pressure goes elsewhere. */
	ASSERT_EQ(add_fb(self, handle, d.pitch, &fb), 0);
	ASSERT_EQ(crc_of(self, fb, &crc_before), 0);
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_GT(info.pinned, 0);
	/*
	 * Pinned in VRAM, it cannot move for a static importer that does not
	 * reach VRAM: vgem's import is refused rather than the pin broken.
	 */
	errno = 0;
	EXPECT_NE(drmPrimeFDToHandle(self->vgem, fd, &vh), 0);
	EXPECT_EQ(errno, EBUSY);
	n = vram_press(self->gpu0, hogs, ARRAY_SIZE(hogs), GPU0, fd);
	EXPECT_EQ(n, (int)ARRAY_SIZE(hogs));
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	EXPECT_EQ(info.invalidations, 0U);
	vram_press_end(self->gpu0, hogs, n);

	/*
	 * Off the screen, the same pressure evicts it and gpu1 is told. A CPU
	 * mapping of the dma-buf made before the move, its pages faulted in
	 * from VRAM, must see the buffer where it went, not what is left in
	 * VRAM.
	 */
	ASSERT_EQ(drmModeSetCrtc(self->gpu1, self->crtc, 0, 0, 0, NULL, 0, NULL), 0);
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	EXPECT_EQ(info.pinned, 0);
	cpu = mmap(NULL, d.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(cpu, MAP_FAILED);
	EXPECT_EQ(check(cpu, d.size, 0xe51c7), 0ULL);
	n = vram_press(self->gpu0, hogs, ARRAY_SIZE(hogs), GPU0, fd);
	EXPECT_EQ(check(cpu, d.size, 0xe51c7), 0ULL);
	fill(cpu, d.size, 0x7c5e);
	munmap(cpu, d.size);
	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	show("after pressure on gpu0's VRAM: evicted, gpu1 told", &info);
	EXPECT_STREQ(info.placement, "system");
	EXPECT_GE(info.invalidations, 1U);
	a = attach_line(&info, "faux_driver " GPU1);
	ASSERT_NE(a, NULL);
	got = sscanf(strstr(a, "invalidations="), "invalidations=%u", &inval);
	ASSERT_EQ(got, 1);
	EXPECT_GE(inval, 1U);

	p = dumb_map(self->gpu0, &d);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(check(p, d.size, 0x7c5e), 0ULL);
	fill(p, d.size, 0xe51c7);
	munmap(p, d.size);

	/* Displayed again, from wherever it is now: the same frame. */
	ASSERT_EQ(crc_of(self, fb, &crc_after), 0);
	EXPECT_EQ(crc_after, crc_before);

	drmModeSetCrtc(self->gpu1, self->crtc, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(self->gpu1, fb);
	vram_press_end(self->gpu0, hogs, n);
	gem_close(self->gpu1, handle);
	close(fd);
	gem_close(self->gpu0, d.handle);
}

/*
 * gpu0 goes away (disabled in configfs) with its buffer imported by vgem and
 * by gpu1, and displayed by gpu1: importers are told, new imports fail with
 * ENODEV, what is held stays readable, and nothing splats (the run fails on
 * any splat, and kmemleak scans at the end of it).
 */
TEST_F(share, revoke)
{
	uint32_t vh = 0, gh = 0, again = 0, fb = 0, crc = 0;
	struct export_info info;
	struct dumb d = { 0 };
	char p[256];
	uint32_t *m;
	int fd;

	fd = vram_buffer(_metadata, self, &d, 0x7e40);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(drmPrimeFDToHandle(self->vgem, fd, &vh), 0);
	ASSERT_EQ(drmPrimeFDToHandle(self->gpu1, fd, &gh), 0);
	ASSERT_EQ(add_fb(self, gh, d.pitch, &fb), 0);
	ASSERT_EQ(crc_of(self, fb, &crc), 0);

	close(self->gpu0);
	self->gpu0 = -1;
	snprintf(p, sizeof(p), VKMS_CONFIGFS "/" GPU0 "/enabled");
	ASSERT_EQ(write_file(p, "0"), 0);

	ASSERT_EQ(export_info(GPU0, fd, &info), 0);
	show("after gpu0 went away: revoked", &info);
	EXPECT_NE(strstr(info.text, "revoked: yes"), NULL) TH_LOG("%s", info.text);
	EXPECT_GE(info.invalidations, 1U);

	/* What the importers hold is still the buffer. */
	m = dmabuf_map(fd, d.size);
	ASSERT_NE(m, NULL);
	EXPECT_EQ(check(m, d.size, 0x7e40), 0ULL);
	dmabuf_unmap(fd, m, d.size);

	/* Once they let go, importing it again is refused. */
	ASSERT_EQ(drmModeSetCrtc(self->gpu1, self->crtc, 0, 0, 0, NULL, 0, NULL), 0);
	drmModeRmFB(self->gpu1, fb);
	gem_close(self->gpu1, gh);
	gem_close(self->vgem, vh);
	errno = 0;
	EXPECT_NE(drmPrimeFDToHandle(self->vgem, fd, &again), 0);
	EXPECT_EQ(errno, ENODEV);
	errno = 0;
	EXPECT_NE(drmPrimeFDToHandle(self->gpu1, fd, &again), 0);
	EXPECT_EQ(errno, ENODEV);
	close(fd);
}

/*
 * The kernel log from now on: /dev/kmsg opened at its end. Reading the
 * whole buffer twice and comparing counts would miss a warning when the
 * buffer wraps in between.
 */
static int kmsg_open_at_end(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* How many kernel warnings were logged since kmsg_open_at_end(). */
static int kmsg_warnings(int fd)
{
	char rec[8192];
	ssize_t len;
	int n = 0;

	for (;;) {
		len = read(fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten records: go on */
		if (len <= 0)
			break;
		rec[len] = '\0';
		if (strstr(rec, "WARNING:"))
			n++;
	}
	return n;
}

/*
 * gpu1 displays a framebuffer of gpu0's buffer, turns it off, and gpu0
 * goes away. Turning it on again with that framebuffer must fail with
 * ENODEV: the export is revoked and gpu1 cannot map it. Not with a kernel
 * warning: the importer must not ask the exporter for a mapping it was
 * told is gone (dma_buf_vmap() warns when an exporter's vmap fails).
 */
TEST_F(share, reenable_after_revoke)
{
	uint32_t gh = 0, fb = 0, crc = 0;
	struct dumb d = { 0 };
	int fd, kmsg;
	char p[256];

	fd = vram_buffer(_metadata, self, &d, 0x3e3e);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(drmPrimeFDToHandle(self->gpu1, fd, &gh), 0);
	ASSERT_EQ(add_fb(self, gh, d.pitch, &fb), 0);
	ASSERT_EQ(crc_of(self, fb, &crc), 0);
	ASSERT_EQ(drmModeSetCrtc(self->gpu1, self->crtc, 0, 0, 0, NULL, 0, NULL), 0);

	close(self->gpu0);
	self->gpu0 = -1;
	snprintf(p, sizeof(p), VKMS_CONFIGFS "/" GPU0 "/enabled");
	ASSERT_EQ(write_file(p, "0"), 0);

	kmsg = kmsg_open_at_end();
	ASSERT_GE(kmsg, 0);
	errno = 0;
	EXPECT_NE(drmModeSetCrtc(self->gpu1, self->crtc, fb, 0, 0, &self->conn,
				 1, &self->mode), 0);
	EXPECT_EQ(errno, ENODEV);
	EXPECT_EQ(kmsg_warnings(kmsg), 0)
		TH_LOG("enabling the CRTC with a revoked import warned");
	close(kmsg);

	drmModeRmFB(self->gpu1, fb);
	gem_close(self->gpu1, gh);
	close(fd);
}

TEST_HARNESS_MAIN
