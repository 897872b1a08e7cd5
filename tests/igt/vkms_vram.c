// SPDX-License-Identifier: GPL-2.0
/*
 * VKMS virtual VRAM from userspace: the configfs attributes and their bad
 * input, a size that cannot be reserved, VRAM off behaving as the base does,
 * dumb buffers landing in VRAM, evicted to system memory under pressure
 * with their content, brought back and pinned while scanned out, and VRAM
 * as a dmem cgroup region whose dmem.max holds.
 *
 * Where a buffer is comes from the P2P exporter's debugfs view of its export.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>

#include "drm_p2p_test.h"

#define NAME	"vramtest"

FIXTURE(vram) {
	int fd;
};

FIXTURE_SETUP(vram)
{
	self->fd = -1;
	vkms_remove(NAME);
	ASSERT_EQ(vkms_make(NAME), 0) TH_LOG("cannot make %s in configfs", NAME);
}

FIXTURE_TEARDOWN(vram)
{
	if (self->fd >= 0)
		close(self->fd);
	vkms_remove(NAME);
}

static int attr_write(const char *attr, const char *val)
{
	char path[256];

	snprintf(path, sizeof(path), VKMS_CONFIGFS "/" NAME "/%s", attr);
	return write_file(path, val);
}

static int attr_read(const char *attr, char *buf, size_t len)
{
	char path[256];

	snprintf(path, sizeof(path), VKMS_CONFIGFS "/" NAME "/%s", attr);
	return read_file(path, buf, len);
}

/*
 * The device directory holds what the base has (enabled and the four
 * groups) and this project's four attributes, nothing else. IGT 2.5's
 * vkms_configfs device-default-files counts the base's five only: that
 * difference is recorded in tests/baseline/igt-differences.txt.
 */
TEST_F(vram, device_files)
{
	static const char * const want[] = {
		"connectors", "crtcs", "enabled", "encoders", "p2p_policy",
		"planes", "vram_pci", "vram_size", "vram_visible",
	};
	char seen[ARRAY_SIZE(want)] = { 0 };
	unsigned int i, extra = 0;
	struct dirent *e;
	DIR *dir;

	dir = opendir(VKMS_CONFIGFS "/" NAME);
	ASSERT_NE(dir, NULL);
	while ((e = readdir(dir))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		for (i = 0; i < ARRAY_SIZE(want); i++)
			if (!strcmp(e->d_name, want[i]))
				break;
		if (i < ARRAY_SIZE(want))
			seen[i]++;
		else
			extra++;
		EXPECT_LT(i, ARRAY_SIZE(want)) TH_LOG("unexpected %s", e->d_name);
	}
	closedir(dir);
	for (i = 0; i < ARRAY_SIZE(want); i++) {
		const char *name = want[i];

		EXPECT_EQ(seen[i], 1) TH_LOG("no %s", name ?: "?");
	}
	EXPECT_EQ(extra, 0U);
}

TEST_F(vram, size_attribute)
{
	static const struct { const char *val; int err; } bad[] = {
		{ "abc", -EINVAL }, { "4097", -EINVAL }, { "\n", -EINVAL },
		{ "-4096", -EINVAL }, { "64M junk", -EINVAL }, { "1T", -E2BIG },
	};
	char buf[64];
	unsigned int i;

	ASSERT_EQ(attr_read("vram_size", buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "0\n");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = attr_write("vram_size", bad[i].val);

		if (err != bad[i].err)
			printf("# vram_size \"%s\": %d, want %d\n", bad[i].val,
			       err, bad[i].err);
		EXPECT_EQ(err, bad[i].err);
	}
	ASSERT_EQ(attr_write("vram_size", "64M"), 0);
	ASSERT_EQ(attr_read("vram_size", buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "67108864\n");
	ASSERT_EQ(attr_write("vram_size", "0"), 0);
	ASSERT_EQ(attr_read("vram_size", buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "0\n");
}

TEST_F(vram, policy_attribute)
{
	static const char * const bad[] = { "bogus", "ALL", "\n", "none all" };
	static const char * const good[] = { "none", "vkms", "all" };
	char buf[64], want[64];
	unsigned int i;

	ASSERT_EQ(attr_read("p2p_policy", buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "none\n");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = attr_write("p2p_policy", bad[i]);

		if (err != -EINVAL)
			printf("# p2p_policy \"%s\": %d\n", bad[i], err);
		EXPECT_EQ(err, -EINVAL);
	}
	for (i = 0; i < ARRAY_SIZE(good); i++) {
		ASSERT_EQ(attr_write("p2p_policy", good[i]), 0);
		ASSERT_EQ(attr_read("p2p_policy", buf, sizeof(buf)), 0);
		snprintf(want, sizeof(want), "%s\n", good[i]);
		EXPECT_STREQ(buf, want);
	}
}

/*
 * How much of VRAM peers reach: a size as vram_size takes it, checked
 * against vram_size when the device is enabled.
 */
TEST_F(vram, visible_attribute)
{
	static const char * const bad[] = { "abc", "4097", "\n", "8M junk" };
	struct stat st;
	char buf[64];
	unsigned int i;

	ASSERT_EQ(attr_read("vram_visible", buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "0\n");
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		int err = attr_write("vram_visible", bad[i]);

		if (err != -EINVAL)
			printf("# vram_visible \"%s\": %d\n", bad[i], err);
		EXPECT_EQ(err, -EINVAL);
	}
	ASSERT_EQ(attr_write("vram_size", "8M"), 0);
	ASSERT_EQ(attr_write("vram_visible", "16M"), 0);
	EXPECT_EQ(attr_write("enabled", "1"), -EINVAL);
	EXPECT_NE(stat("/sys/bus/faux/devices/" NAME, &st), 0);
	ASSERT_EQ(attr_write("vram_visible", "2M"), 0);
	ASSERT_EQ(attr_read("vram_visible", buf, sizeof(buf)), 0);
	EXPECT_STREQ(buf, "2097152\n");
	EXPECT_EQ(attr_write("enabled", "1"), 0);
	EXPECT_EQ(stat("/sys/bus/faux/devices/" NAME, &st), 0);
}

/* No attribute changes under a live device. */
TEST_F(vram, busy_while_enabled)
{
	ASSERT_EQ(attr_write("vram_size", "8M"), 0);
	ASSERT_EQ(attr_write("enabled", "1"), 0);
	EXPECT_EQ(attr_write("vram_size", "16M"), -EBUSY);
	EXPECT_EQ(attr_write("vram_visible", "4M"), -EBUSY);
	EXPECT_EQ(attr_write("p2p_policy", "all"), -EBUSY);
	ASSERT_EQ(attr_write("enabled", "0"), 0);
	EXPECT_EQ(attr_write("vram_size", "16M"), 0);
}

/* More than the contiguous memory allocator holds: no device, ENOMEM. */
TEST_F(vram, cannot_reserve)
{
	struct stat st;

	ASSERT_EQ(attr_write("vram_size", "768M"), 0);
	EXPECT_EQ(attr_write("enabled", "1"), -ENOMEM);
	EXPECT_NE(stat("/sys/bus/faux/devices/" NAME, &st), 0);
	EXPECT_EQ(attr_write("vram_size", "8M"), 0);
	EXPECT_EQ(attr_write("enabled", "1"), 0);
	EXPECT_EQ(stat("/sys/bus/faux/devices/" NAME, &st), 0);
}

/* VRAM off: GEM shmem as on the base, no TTM and nothing exported by it. */
TEST_F(vram, off_is_the_base)
{
	struct dumb d = { 0 };
	int fd = -1;

	ASSERT_EQ(attr_write("enabled", "1"), 0);
	self->fd = open_vkms(NAME);
	ASSERT_GE(self->fd, 0);
	EXPECT_FALSE(debugfs_exists(NAME, "ttm"));
	ASSERT_EQ(dumb_create(self->fd, 256, 256, &d), 0);
	ASSERT_EQ(drmPrimeHandleToFD(self->fd, d.handle, DRM_CLOEXEC | DRM_RDWR,
				     &fd), 0);
	EXPECT_EQ(export_info(NAME, fd, NULL), -ENOENT);
	close(fd);
	gem_close(self->fd, d.handle);
}

/*
 * An export outlives its device, and its debugfs view with it; a new device
 * of the same name gets a view of its own (<name>.<n>) for its exports.
 */
TEST_F(vram, name_reuse)
{
	struct export_info old, new;
	struct dumb d = { 0 }, e = { 0 };
	int fd = -1, fd2 = -1;

	ASSERT_EQ(vkms_make_gpu(NAME, "4M", "none"), 0);
	self->fd = open_vkms(NAME);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(dumb_create(self->fd, 256, 256, &d), 0);
	ASSERT_EQ(drmPrimeHandleToFD(self->fd, d.handle, DRM_CLOEXEC, &fd), 0);
	close(self->fd);
	self->fd = -1;

	/* The same name again, while the first device's export lives. */
	ASSERT_EQ(vkms_make_gpu(NAME, "4M", "none"), 0);
	self->fd = open_vkms(NAME);
	ASSERT_GE(self->fd, 0);
	ASSERT_EQ(dumb_create(self->fd, 256, 256, &e), 0);
	ASSERT_EQ(drmPrimeHandleToFD(self->fd, e.handle, DRM_CLOEXEC, &fd2), 0);
	ASSERT_EQ(export_info(NAME, fd, &old), 0);
	ASSERT_EQ(export_info(NAME, fd2, &new), 0);
	EXPECT_NE(strstr(old.text, "revoked: yes"), NULL);
	EXPECT_NE(strstr(new.text, "revoked: no"), NULL);
	EXPECT_STREQ(new.placement, "device");
	close(fd2);
	gem_close(self->fd, e.handle);
	close(fd);
}

#define BUF_W	1024
#define BUF_H	1024	/* 4 MiB */
#define MAX_BUFS 12

TEST_F(vram, evict_and_scanout)
{
	struct dumb bufs[MAX_BUFS] = { 0 }, a = { 0 };
	int fds[MAX_BUFS], n, i, afd = -1, evicted = 0, in_vram = 0;
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	uint32_t fb = 0, crtc = 0, conn = 0;
	drmModeModeInfo mode = { 0 };
	struct export_info info;
	uint32_t *p;

	for (i = 0; i < MAX_BUFS; i++)
		fds[i] = -1;
	ASSERT_EQ(attr_write("vram_size", "16M"), 0);
	ASSERT_EQ(attr_write("enabled", "1"), 0);
	self->fd = open_vkms(NAME);
	ASSERT_GE(self->fd, 0);
	EXPECT_TRUE(debugfs_exists(NAME, "ttm/vram_mm"));

	/* A new buffer lands in VRAM. */
	ASSERT_EQ(dumb_create(self->fd, BUF_W, BUF_H, &a), 0);
	ASSERT_EQ(drmPrimeHandleToFD(self->fd, a.handle, DRM_CLOEXEC | DRM_RDWR,
				     &afd), 0);
	ASSERT_EQ(export_info(NAME, afd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	EXPECT_EQ(info.pinned, 0);
	p = dumb_map(self->fd, &a);
	ASSERT_NE(p, NULL);
	fill(p, a.size, 0xa5a5);

	/* Pressure evicts it to system memory, with its content. */
	for (n = 0; n < MAX_BUFS && !evicted; n++) {
		ASSERT_EQ(dumb_create(self->fd, BUF_W, BUF_H, &bufs[n]), 0);
		ASSERT_EQ(drmPrimeHandleToFD(self->fd, bufs[n].handle,
					     DRM_CLOEXEC, &fds[n]), 0);
		ASSERT_EQ(export_info(NAME, afd, &info), 0);
		evicted = !strcmp(info.placement, "system");
	}
	ASSERT_TRUE(evicted) TH_LOG("%d buffers of 4 MiB did not evict it", n);
	EXPECT_EQ(check(p, a.size, 0xa5a5), 0ULL);

	/* Scanned out, it comes back to VRAM, pinned, content intact. */
	ASSERT_EQ(find_output(self->fd, &crtc, &conn, &mode), 0);
	ASSERT_LE(mode.hdisplay, BUF_W);
	ASSERT_LE(mode.vdisplay, BUF_H);
	handles[0] = a.handle;
	pitches[0] = a.pitch;
	ASSERT_EQ(drmModeAddFB2(self->fd, mode.hdisplay, mode.vdisplay,
				DRM_FORMAT_XRGB8888, handles, pitches, offsets,
				&fb, 0), 0);
	ASSERT_EQ(drmModeSetCrtc(self->fd, crtc, fb, 0, 0, &conn, 1, &mode), 0);
	ASSERT_EQ(export_info(NAME, afd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	EXPECT_GT(info.pinned, 0);
	EXPECT_EQ(check(p, a.size, 0xa5a5), 0ULL);

	/* More pressure evicts the others, never the buffer on the screen. */
	for (i = n; i < MAX_BUFS; i++) {
		ASSERT_EQ(dumb_create(self->fd, BUF_W, BUF_H, &bufs[i]), 0);
		ASSERT_EQ(drmPrimeHandleToFD(self->fd, bufs[i].handle,
					     DRM_CLOEXEC, &fds[i]), 0);
	}
	ASSERT_EQ(export_info(NAME, afd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	evicted = 0;
	for (i = 0; i < MAX_BUFS; i++) {
		struct export_info other;

		ASSERT_EQ(export_info(NAME, fds[i], &other), 0);
		if (!strcmp(other.placement, "device"))
			in_vram++;
		else
			evicted++;
	}
	TH_LOG("%d of %d other buffers in VRAM", in_vram, MAX_BUFS);
	/* 16 MiB: the pinned one and at most three others. */
	EXPECT_LE(in_vram, 3);
	EXPECT_GE(evicted, MAX_BUFS - 3);

	/* Off the screen, the pin goes. */
	ASSERT_EQ(drmModeSetCrtc(self->fd, crtc, 0, 0, 0, NULL, 0, NULL), 0);
	ASSERT_EQ(export_info(NAME, afd, &info), 0);
	EXPECT_EQ(info.pinned, 0);
	EXPECT_EQ(check(p, a.size, 0xa5a5), 0ULL);

	drmModeRmFB(self->fd, fb);
	munmap(p, a.size);
	close(afd);
	gem_close(self->fd, a.handle);
	for (i = 0; i < MAX_BUFS; i++) {
		close(fds[i]);
		gem_close(self->fd, bufs[i].handle);
	}
}

/* Index of the first non-zero word plus one, or 0 if all are zero. */
static unsigned long long nonzero(const uint32_t *p, uint64_t size)
{
	uint64_t i;

	for (i = 0; i < size / 4; i++)
		if (p[i])
			return i + 1;
	return 0;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/*
 * A new buffer reads back zeros, never what another buffer left in VRAM:
 * not where freed buffers were, not where an evicted one was. Every byte
 * of the 16 MiB of VRAM is written first, so a buffer that is not cleared
 * shows the pattern wherever it lands.
 */
TEST_F(vram, new_buffers_cleared)
{
	struct dumb b[5] = { 0 };
	struct export_info info;
	double t0, ms = 0;
	int i, fds[4], evicted = 0;
	uint32_t *p[5];

	ASSERT_EQ(attr_write("vram_size", "16M"), 0);
	ASSERT_EQ(attr_write("enabled", "1"), 0);
	self->fd = open_vkms(NAME);
	ASSERT_GE(self->fd, 0);

	/* Fill VRAM, then free every buffer. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(dumb_create(self->fd, BUF_W, BUF_H, &b[i]), 0);
		p[i] = dumb_map(self->fd, &b[i]);
		ASSERT_NE(p[i], NULL);
		fill(p[i], b[i].size, 0x5eed0000 + i);
	}
	for (i = 0; i < 4; i++) {
		munmap(p[i], b[i].size);
		gem_close(self->fd, b[i].handle);
	}

	/* New buffers in the same VRAM read zeros. */
	for (i = 0; i < 4; i++) {
		t0 = now_ms();
		ASSERT_EQ(dumb_create(self->fd, BUF_W, BUF_H, &b[i]), 0);
		ms += now_ms() - t0;
		p[i] = dumb_map(self->fd, &b[i]);
		ASSERT_NE(p[i], NULL);
		EXPECT_EQ(nonzero(p[i], b[i].size), 0ULL)
			TH_LOG("new buffer %d holds a freed buffer's data", i);
		fill(p[i], b[i].size, 0xe0000 + i);
	}
	TH_LOG("creating a 4 MiB buffer in VRAM, cleared: %.2f ms on average",
	       ms / 4);

	/* VRAM is full: a fifth buffer takes the VRAM of an evicted one. */
	for (i = 0; i < 4; i++)
		ASSERT_EQ(drmPrimeHandleToFD(self->fd, b[i].handle, DRM_CLOEXEC,
					     &fds[i]), 0);
	ASSERT_EQ(dumb_create(self->fd, BUF_W, BUF_H, &b[4]), 0);
	p[4] = dumb_map(self->fd, &b[4]);
	ASSERT_NE(p[4], NULL);
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(export_info(NAME, fds[i], &info), 0);
		if (!strcmp(info.placement, "system")) {
			evicted++;
			/* The evicted one kept its own. */
			EXPECT_EQ(check(p[i], b[i].size, 0xe0000 + i), 0ULL);
		}
	}
	EXPECT_GE(evicted, 1);
	EXPECT_EQ(nonzero(p[4], b[4].size), 0ULL)
		TH_LOG("new buffer holds the evicted buffer's data");

	for (i = 0; i < 5; i++) {
		if (i < 4)
			close(fds[i]);
		munmap(p[i], b[i].size);
		gem_close(self->fd, b[i].handle);
	}
}

#define CGROUP		"/sys/fs/cgroup"
#define DMEM_CG		CGROUP "/vkms_vram_dmem"
#define MIB		(1024ll * 1024)

/* The value of @key in a cgroup file of "key value" lines, or -1. */
static long long cg_value(const char *file, const char *key)
{
	char buf[4096], *line;
	size_t len = strlen(key);

	if (read_file(file, buf, sizeof(buf)))
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
		if (!strncmp(line, key, len) && line[len] == ' ')
			return strtoll(line + len + 1, NULL, 10);
	return -1;
}

/* The dmem region of the test device's VRAM, "drm/<device>/vram0". */
static int dmem_region(char *region, size_t len)
{
	char buf[4096], *line;

	if (read_file(CGROUP "/dmem.capacity", buf, sizeof(buf)))
		return -1;
	for (line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		char *sp = strchr(line, ' ');

		if (sp && !strncmp(line, "drm/", 4) && strstr(line, NAME "/vram0 ")) {
			snprintf(region, len, "%.*s", (int)(sp - line), line);
			return 0;
		}
	}
	return -1;
}

/* How many of @n exported buffers are in VRAM; -1 if one cannot be told. */
static int in_vram(const int *fds, int n)
{
	struct export_info info;
	int i, count = 0;

	for (i = 0; i < n; i++) {
		if (export_info(NAME, fds[i], &info))
			return -1;
		count += !strcmp(info.placement, "device");
	}
	return count;
}

/*
 * VRAM is a dmem cgroup region of its size. A task in a cgroup whose
 * dmem.max is 4 MiB of it never has more in VRAM: its buffers beyond that
 * evict its own, to system memory, with their content. A task outside the
 * cgroup still gets VRAM.
 */
TEST_F(vram, dmem_limit)
{
	struct dumb b[7] = { 0 };
	char region[128], val[160], pid[32];
	long long cur;
	uint32_t *p;
	int fds[7], i, n;

	if (access(CGROUP "/cgroup.controllers", F_OK))
		ASSERT_EQ(mount("cgroup2", CGROUP, "cgroup2", 0, NULL), 0)
			TH_LOG("cannot mount cgroup2: %s", strerror(errno));
	ASSERT_EQ(attr_write("vram_size", "16M"), 0);
	ASSERT_EQ(attr_write("enabled", "1"), 0);
	self->fd = open_vkms(NAME);
	ASSERT_GE(self->fd, 0);

	/* The root shows dmem's files once the controller is enabled. */
	ASSERT_EQ(write_file(CGROUP "/cgroup.subtree_control", "+dmem"), 0);
	if (dmem_region(region, sizeof(region))) {
		char cap[4096] = "";
		int err = read_file(CGROUP "/dmem.capacity", cap, sizeof(cap));

		TH_LOG("no region of %s in " CGROUP "/dmem.capacity (%d):\n%s",
		       NAME, err, cap);
		ASSERT_TRUE(false);
	}
	EXPECT_EQ(cg_value(CGROUP "/dmem.capacity", region), 16 * MIB);

	rmdir(DMEM_CG);
	ASSERT_EQ(mkdir(DMEM_CG, 0755), 0);
	snprintf(val, sizeof(val), "%s %lld", region, 4 * MIB);
	ASSERT_EQ(write_file(DMEM_CG "/dmem.max", val), 0);
	EXPECT_EQ(cg_value(DMEM_CG "/dmem.max", region), 4 * MIB);
	snprintf(pid, sizeof(pid), "%d", getpid());
	ASSERT_EQ(write_file(DMEM_CG "/cgroup.procs", pid), 0);

	/* Six 1 MiB buffers in the cgroup: four in VRAM at most. */
	for (i = 0; i < 6; i++) {
		ASSERT_EQ(dumb_create(self->fd, 512, 512, &b[i]), 0);
		ASSERT_EQ(b[i].size, (uint64_t)MIB);
		p = dumb_map(self->fd, &b[i]);
		ASSERT_NE(p, NULL);
		fill(p, b[i].size, 0xd3e0 + i);
		munmap(p, b[i].size);
		ASSERT_EQ(drmPrimeHandleToFD(self->fd, b[i].handle,
					     DRM_CLOEXEC, &fds[i]), 0);
		cur = cg_value(DMEM_CG "/dmem.current", region);
		EXPECT_GE(cur, 0);
		EXPECT_LE(cur, 4 * MIB);
		n = in_vram(fds, i + 1);
		EXPECT_GE(n, 0);
		EXPECT_LE(n, 4);
	}
	EXPECT_EQ(cg_value(DMEM_CG "/dmem.current", region), 4 * MIB);
	EXPECT_EQ(in_vram(fds, 6), 4);
	for (i = 0; i < 6; i++) {
		p = dumb_map(self->fd, &b[i]);
		ASSERT_NE(p, NULL);
		EXPECT_EQ(check(p, b[i].size, 0xd3e0 + i), 0ULL)
			TH_LOG("buffer %d lost its content", i);
		munmap(p, b[i].size);
	}

	/* Out of the cgroup, a buffer takes VRAM beyond the limit. */
	ASSERT_EQ(write_file(CGROUP "/cgroup.procs", pid), 0);
	ASSERT_EQ(dumb_create(self->fd, 512, 512, &b[6]), 0);
	ASSERT_EQ(drmPrimeHandleToFD(self->fd, b[6].handle, DRM_CLOEXEC,
				     &fds[6]), 0);
	EXPECT_EQ(in_vram(fds, 7), 5);
	EXPECT_EQ(cg_value(DMEM_CG "/dmem.current", region), 4 * MIB);

	/* Freed: nothing left charged. */
	for (i = 0; i < 7; i++) {
		close(fds[i]);
		gem_close(self->fd, b[i].handle);
	}
	EXPECT_EQ(cg_value(DMEM_CG "/dmem.current", region), 0);
	EXPECT_EQ(rmdir(DMEM_CG), 0);
}

TEST_HARNESS_MAIN
