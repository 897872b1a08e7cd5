// SPDX-License-Identifier: GPL-2.0
/*
 * Stress on the P2P exporter through VKMS VRAM: for a bounded time, several
 * processes each create buffers in one VKMS device's VRAM, export them,
 * import them into a second VKMS device or vgem, and check and rewrite
 * their content from both sides, while another process keeps filling and
 * emptying VRAM so that buffers are evicted under them. No content may be
 * wrong; the run fails on any kernel splat, and kmemleak scans at its end.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "drm_p2p_test.h"

#define GPU0		"stress0"
#define GPU1		"stress1"
#define WORKERS		3
#define SECONDS		20

struct counts {
	unsigned long iterations[WORKERS];
	unsigned long mismatches[WORKERS];
	unsigned long errors[WORKERS];
	unsigned long evictions;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One round: a buffer in gpu0's VRAM, shared with @imp, checked both ways. */
static int round_trip(int gpu0, int imp, int i, struct counts *c, int w)
{
	uint32_t seed = (uint32_t)(w << 24 | i), handle = 0;
	struct dumb d = { 0 };
	int fd = -1, ret = 0;
	uint32_t *p;

	if (dumb_create(gpu0, 256 + 64 * (i % 13), 128 + 32 * (i % 7), &d))
		return -1;
	p = dumb_map(gpu0, &d);
	if (!p)
		goto err;
	fill(p, d.size, seed);
	munmap(p, d.size);
	if (drmPrimeHandleToFD(gpu0, d.handle, DRM_CLOEXEC | DRM_RDWR, &fd))
		goto err;
	if (drmPrimeFDToHandle(imp, fd, &handle))
		goto err;

	/* The importer's view, through the dma-buf. */
	p = dmabuf_map(fd, d.size);
	if (!p)
		goto err;
	if (check(p, d.size, seed))
		c->mismatches[w]++;
	fill(p, d.size, ~seed);
	dmabuf_unmap(fd, p, d.size);

	/* The exporter's view of what was written. */
	p = dumb_map(gpu0, &d);
	if (!p)
		goto err;
	if (check(p, d.size, ~seed))
		c->mismatches[w]++;
	munmap(p, d.size);
	goto out;
err:
	c->errors[w]++;
	ret = -1;
out:
	if (handle)
		gem_close(imp, handle);
	if (fd >= 0)
		close(fd);
	gem_close(gpu0, d.handle);
	return ret;
}

static void worker(int w, struct counts *c, double end)
{
	int gpu0 = open_vkms(GPU0), gpu1 = open_vkms(GPU1);
	int vgem = open_driver("vgem", 0);
	int i;

	if (gpu0 < 0 || gpu1 < 0 || vgem < 0)
		_exit(2);
	for (i = 0; now() < end; i++) {
		round_trip(gpu0, i % 2 ? vgem : gpu1, i, c, w);
		c->iterations[w]++;
	}
	_exit(0);
}

/* Fill VRAM with 4 MiB buffers and let them go, over and over. */
static void evictor(struct counts *c, double end)
{
	int gpu0 = open_vkms(GPU0);
	struct dumb hog[4];
	int i;

	if (gpu0 < 0)
		_exit(2);
	while (now() < end) {
		for (i = 0; i < 4; i++)
			if (dumb_create(gpu0, 1024, 1024, &hog[i]))
				_exit(3);
		for (i = 0; i < 4; i++)
			gem_close(gpu0, hog[i].handle);
		c->evictions++;
	}
	_exit(0);
}

TEST(export_import_evict)
{
	unsigned long total = 0, bad = 0, errors = 0;
	pid_t pids[WORKERS + 1];
	struct counts *c;
	double end;
	int i, status;

	ASSERT_EQ(vkms_make_gpu(GPU0, "16M", "vkms"), 0);
	ASSERT_EQ(vkms_make_gpu(GPU1, "16M", "vkms"), 0);
	ASSERT_GE(open_driver("vgem", 0), 0);
	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(c, MAP_FAILED);
	memset(c, 0, sizeof(*c));

	end = now() + SECONDS;
	for (i = 0; i <= WORKERS; i++) {
		pids[i] = fork();
		ASSERT_GE(pids[i], 0);
		if (!pids[i]) {
			if (i == WORKERS)
				evictor(c, end);
			worker(i, c, end);
		}
	}
	for (i = 0; i <= WORKERS; i++) {
		ASSERT_EQ(waitpid(pids[i], &status, 0), pids[i]);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
			TH_LOG("process %d: status %#x", i, status);
	}
	for (i = 0; i < WORKERS; i++) {
		total += c->iterations[i];
		bad += c->mismatches[i];
		errors += c->errors[i];
	}
	TH_LOG("%lu round trips by %d processes, %lu VRAM fills, in %d s",
	       total, WORKERS, c->evictions, SECONDS);
	EXPECT_GT(total, (unsigned long)WORKERS);
	EXPECT_GT(c->evictions, 0UL);
	EXPECT_EQ(bad, 0UL);
	EXPECT_EQ(errors, 0UL);
	munmap(c, sizeof(*c));
	vkms_remove(GPU1);
	vkms_remove(GPU0);
}

TEST_HARNESS_MAIN
