// SPDX-License-Identifier: GPL-2.0
/*
 * Programs users run, on VKMS VRAM, from the guest's Debian packages:
 *
 * - GStreamer: v4l2src io-mode=dmabuf-import ! kmssink, vivid capturing
 *   straight into the dumb buffers kmssink allocates in VKMS VRAM and
 *   exports, at 640x480 and 1920x1080, with the policy "all" (vivid reaches
 *   VRAM: mapped in place, one entry, no migration) and "none" (each
 *   buffer moves once, to contiguous system memory, one entry);
 * - Mesa: kmscube renders with llvmpipe through GBM into VKMS VRAM and
 *   flips its frames; a scanout buffer GBM allocates in VKMS VRAM, drawn
 *   through gbm_bo_map() and exported with gbm_bo_get_fd(), is shown by a
 *   second VKMS device with the CRC of the same picture drawn there;
 * - weston: its DRM backend (GL renderer, llvmpipe) on VKMS VRAM shows its
 *   desktop with the CRC of the same picture drawn natively, and scans out
 *   a linux-dmabuf client's buffers, allocated in VKMS VRAM through GBM,
 *   on a plane without a copy.
 *
 * Each test asserts the client's exit status and what the exporter did,
 * from its debugfs view of every buffer taken while the client runs.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <gbm.h>

#include "drm_p2p_test.h"

#define GPU	"client"
#define GPU2	"client2"
/* VKMS's memory type of contiguous system memory (TTM_PL_PRIV). */
#define VKMS_PL_CONTIG	3

/* The path of the first vivid instance's capture node, by its name. */
static int vivid_node(char *path, size_t len)
{
	char p[PATH_MAX], name[64];
	int i;

	for (i = 0; i < 64; i++) {
		snprintf(p, sizeof(p), "/sys/class/video4linux/video%d/name", i);
		if (read_file(p, name, sizeof(name)) < 0)
			continue;
		if (!strncmp(name, "vivid-000-vid-cap", 17)) {
			snprintf(path, len, "/dev/video%d", i);
			return 0;
		}
	}
	return -ENOENT;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Start @argv with @card as its fd 3, its output in @log. */
static pid_t start(const char *const argv[], int card, const char *log)
{
	pid_t pid = fork();
	int out;

	if (pid)
		return pid;
	/* Its own process group: stopped as a whole, helpers and all. */
	setpgid(0, 0);
	out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
		_exit(126);
	/* dup2() onto itself would keep its close-on-exec. */
	if (card >= 0 && (card == 3 ? fcntl(3, F_SETFD, 0) : dup2(card, 3)) < 0)
		_exit(126);
	setenv("XDG_RUNTIME_DIR", "/tmp", 1);
	setenv("HOME", "/tmp", 1);
	setenv("GST_DEBUG", "2", 1);
	execvp(argv[0], (char *const *)argv);
	_exit(127);
}

/* Its exit status; killed (and -ETIMEDOUT) after @limit seconds. */
static int finish(pid_t pid, double limit, void (*poll_fn)(void *), void *arg)
{
	double end = now() + limit;
	int status;

	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) :
			       128 + WTERMSIG(status);
		if (r < 0)
			return -errno;
		if (now() > end) {
			kill(-pid, SIGKILL);
			waitpid(pid, &status, 0);
			return -ETIMEDOUT;
		}
		if (poll_fn)
			poll_fn(arg);
		usleep(100 * 1000);
	}
}

/* The last lines of a client's output, for the test log. */
static const char *tail_of(const char *log)
{
	static char buf[2048];
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	off_t size;
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	size = lseek(fd, 0, SEEK_END);
	lseek(fd, size > (off_t)sizeof(buf) - 1 ? size - (sizeof(buf) - 1) : 0,
	      SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/*
 * What the exporter shows of the buffers one importer maps, as seen while
 * a client runs: the exports the importer @drv attached to, and the first
 * view of one that broke what the test expects, at any time it was looked
 * at (a buffer that moves again later is caught).
 */
struct seen {
	const char *drv;
	bool p2p;
	unsigned int exports;		/* with a mapped @drv attachment */
	unsigned int bad;
	char first_bad[4096];
	struct export_info first;	/* the first one seen */
	char counted[64][NAME_MAX + 1];	/* their files, counted once */
};

static bool view_ok(const struct seen *s, const struct export_info *info,
		    const char *line)
{
	if (!strstr(line, " entries=1 ") || !strstr(line, " pins=1 "))
		return false;
	if (s->p2p)
		return !strcmp(info->placement, "device") &&
		       info->migrations == 0 &&
		       strstr(line, " p2p=yes ") &&
		       strstr(line, " kind=p2p-resource ");
	/* VKMS's contiguous system memory, reached in one move. */
	return !strcmp(info->placement, "system") &&
	       info->mem_type == VKMS_PL_CONTIG &&
	       info->migrations == 1 && strstr(line, " kind=pages ");
}

/*
 * Look at every export of GPU: each is counted once, when first seen
 * mapped, and checked every time.
 */
static void look(void *arg)
{
	struct seen *s = arg;
	struct export_info info;
	struct dirent *de;
	char dir[PATH_MAX], p[PATH_MAX + 256];
	unsigned int i;
	DIR *d;

	snprintf(dir, sizeof(dir), P2P_DEBUGFS "/%s", GPU);
	d = opendir(dir);
	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *line, *s2;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
		if (read_file(p, info.text, sizeof(info.text)) < 0)
			continue;
		line = attach_line(&info, s->drv);
		if (!line || strstr(line, " kind=none "))
			continue;
		s2 = strstr(info.text, "placement: ");
		if (!s2 || sscanf(s2, "placement: %15s %u", info.placement,
				  &info.mem_type) != 2)
			continue;
		s2 = strstr(info.text, "migrations: ");
		if (!s2 || sscanf(s2, "migrations: %u", &info.migrations) != 1)
			continue;
		if (!view_ok(s, &info, line) && !s->bad++)
			snprintf(s->first_bad, sizeof(s->first_bad), "%s",
				 info.text);
		for (i = 0; i < 64 && s->counted[i][0]; i++)
			if (!strcmp(s->counted[i], de->d_name))
				break;
		if (i == 64 || s->counted[i][0])
			continue;
		snprintf(s->counted[i], sizeof(s->counted[i]), "%s", de->d_name);
		if (!s->exports++)
			s->first = info;
	}
	closedir(d);
}

FIXTURE(gst) {
	int card;
};

FIXTURE_VARIANT(gst) {
	const char *policy;
	bool p2p;
	unsigned int width, height;
};

FIXTURE_VARIANT_ADD(gst, all_640x480) {
	.policy = "all", .p2p = true, .width = 640, .height = 480,
};

FIXTURE_VARIANT_ADD(gst, none_640x480) {
	.policy = "none", .p2p = false, .width = 640, .height = 480,
};

FIXTURE_VARIANT_ADD(gst, all_1920x1080) {
	.policy = "all", .p2p = true, .width = 1920, .height = 1080,
};

FIXTURE_VARIANT_ADD(gst, none_1920x1080) {
	.policy = "none", .p2p = false, .width = 1920, .height = 1080,
};

FIXTURE_SETUP(gst)
{
	/* kmssink's pool: a few frames of up to 8 MiB. */
	ASSERT_EQ(vkms_make_gpu(GPU, "64M", variant->policy), 0);
	self->card = open_vkms(GPU);
	ASSERT_GE(self->card, 0);
}

FIXTURE_TEARDOWN(gst)
{
	if (self->card >= 0)
		close(self->card);
	vkms_remove(GPU);
}

/*
 * vivid captures into kmssink's buffers, which kmssink shows: 20 frames,
 * then end of stream.
 */
TEST_F_TIMEOUT(gst, capture_to_kmssink, 180)
{
	char node[32], src[64], caps[96];
	static struct seen seen;
	const char *log = "/tmp/client-gst.log";
	const char * const argv[] = {
		"gst-launch-1.0", "v4l2src", src, "io-mode=dmabuf-import",
		"num-buffers=20", "!", caps, "!", "kmssink", "fd=3",
		"force-modesetting=true", NULL,
	};
	pid_t pid;
	int ret;

	ASSERT_EQ(vivid_node(node, sizeof(node)), 0);
	snprintf(src, sizeof(src), "device=%s", node);
	snprintf(caps, sizeof(caps),
		 "video/x-raw,format=BGRx,width=%u,height=%u",
		 variant->width, variant->height);

	memset(&seen, 0, sizeof(seen));
	seen.drv = "vivid";
	seen.p2p = variant->p2p;
	/* Our file is DRM master: kmssink modesets through it, as its fd 3. */
	pid = start(argv, self->card, log);
	ASSERT_GT(pid, 0);
	ret = finish(pid, 150, look, &seen);
	EXPECT_EQ(ret, 0) TH_LOG("gst-launch-1.0: %d\n%s", ret, tail_of(log));
	TH_LOG("%u buffers of %ux%u mapped by vivid, policy %s", seen.exports,
	       variant->width, variant->height, variant->policy);
	if (seen.exports)
		show("GStreamer: one of kmssink's buffers, as vivid captures into it",
		     &seen.first);
	/* v4l2src queues at least two buffers of kmssink's pool. */
	EXPECT_GE(seen.exports, 2U);
	EXPECT_EQ(seen.bad, 0U) TH_LOG("%s", seen.first_bad);
}

/* The bytes of VRAM in use, from TTM's debugfs view (in pages); -1 if unknown. */
static long long vram_used(void)
{
	char p[256], buf[16384];
	const char *s;
	unsigned long long total, used;

	snprintf(p, sizeof(p), DRI_DEBUGFS "/%s/ttm/vram_mm", GPU);
	if (read_file(p, buf, sizeof(buf)) < 0)
		return -1;
	s = strstr(buf, "total: ");
	if (!s || sscanf(s, "total: %llu, used %llu", &total, &used) != 2)
		return -1;
	return used * getpagesize();
}

static void watch_vram(void *arg)
{
	long long *peak = arg, used = vram_used();

	if (used > *peak)
		*peak = used;
}

FIXTURE(cube) {
	int unused;
};

FIXTURE_SETUP(cube)
{
}

FIXTURE_TEARDOWN(cube)
{
	vkms_remove(GPU);
}

/*
 * kmscube renders 20 frames with Mesa (GBM, llvmpipe) and flips them on a
 * VKMS device with VRAM: its scanout buffers live in VRAM while it runs,
 * and go when it exits. (Under TCG, llvmpipe takes most of a minute to
 * start.)
 */
TEST_F_TIMEOUT(cube, render_and_flip, 180)
{
	const char *log = "/tmp/client-kmscube.log";
	char card[64];
	const char * const argv[] = { "kmscube", "-D", card, "-c", "20", NULL };
	long long peak = 0, before;
	unsigned int frames = 0;
	const char *s;
	pid_t pid;
	int i, ret;

	ASSERT_EQ(vkms_make_gpu(GPU, "64M", "vkms"), 0);
	ASSERT_EQ(vkms_card(GPU, card, sizeof(card)), 0);
	before = vram_used();
	ASSERT_GE(before, 0);

	/* Its own file, DRM master: nobody else has the card open. */
	pid = start(argv, -1, log);
	ASSERT_GT(pid, 0);
	ret = finish(pid, 150, watch_vram, &peak);
	EXPECT_EQ(ret, 0) TH_LOG("kmscube: %d\n%s", ret, tail_of(log));
	/*
	 * It fails when a page flip does; it reports the frames it timed,
	 * which under TCG leaves out a few of the first.
	 */
	s = strstr(tail_of(log), "Rendered ");
	EXPECT_NE(s, NULL) TH_LOG("%s", tail_of(log));
	if (s)
		sscanf(s, "Rendered %u frames", &frames);
	TH_LOG("kmscube rendered %u frames of 20 in its timed run", frames);
	EXPECT_GE(frames, 1U);
	/* At least two 1024x768 XRGB8888 frames, for as long as it ran. */
	TH_LOG("VRAM in use: %lld bytes before, %lld at most while it ran, %lld after",
	       before, peak, vram_used());
	EXPECT_GE(peak - before, 2LL * 1024 * 768 * 4);
	/* Freed once its last references go (TTM may delay the release). */
	for (i = 0; i < 50 && vram_used() != before; i++)
		usleep(100 * 1000);
	EXPECT_EQ(vram_used(), before);
}

/* Draw test pattern @seed into a @w x @h XRGB8888 picture of @stride. */
static void draw(uint8_t *p, uint32_t w, uint32_t h, uint32_t stride,
		 uint32_t seed)
{
	uint32_t y;

	for (y = 0; y < h; y++)
		fill((uint32_t *)(p + (size_t)y * stride), w * 4, seed + y);
}

FIXTURE(gbm) {
	int gpu, gpu2;
	struct gbm_device *gbm;
	uint32_t crtc, conn;
	drmModeModeInfo mode;
};

FIXTURE_SETUP(gbm)
{
	self->gbm = NULL;
	self->gpu = -1;
	self->gpu2 = -1;
	/* Mesa's shader cache: the root filesystem is read-only. */
	setenv("HOME", "/tmp", 1);
	ASSERT_EQ(vkms_make_gpu(GPU, "64M", "vkms"), 0);
	ASSERT_EQ(vkms_make_gpu(GPU2, "64M", "vkms"), 0);
	self->gpu = open_vkms(GPU);
	ASSERT_GE(self->gpu, 0);
	self->gpu2 = open_vkms(GPU2);
	ASSERT_GE(self->gpu2, 0);
	ASSERT_EQ(find_output(self->gpu2, &self->crtc, &self->conn,
			      &self->mode), 0);
	self->gbm = gbm_create_device(self->gpu);
	ASSERT_NE(self->gbm, NULL);
}

FIXTURE_TEARDOWN(gbm)
{
	if (self->gbm)
		gbm_device_destroy(self->gbm);
	if (self->gpu >= 0)
		close(self->gpu);
	if (self->gpu2 >= 0)
		close(self->gpu2);
	vkms_remove(GPU2);
	vkms_remove(GPU);
}

/*
 * A GBM client's scanout buffer, in the first device's VRAM, exported with
 * gbm_bo_get_fd() and shown by the second device: the same CRC as the
 * picture drawn in a dumb buffer of the second device, another one than a
 * different picture; the second device maps the first one's VRAM directly.
 */
TEST_F_TIMEOUT(gbm, scanout_crc, 120)
{
	uint32_t w = self->mode.hdisplay, h = self->mode.vdisplay;
	uint32_t stride, handle, fb_gbm, fb_native, fb_other;
	uint32_t crc_gbm = 0, crc_native = 0, crc_other = 0;
	uint32_t handles[4] = { 0 }, pitches[4] = { 0 }, offsets[4] = { 0 };
	struct export_info info;
	const char *s;
	struct gbm_bo *bo;
	struct dumb native = { 0 }, other = { 0 };
	void *map_data = NULL;
	uint8_t *p;
	int fd;

	bo = gbm_bo_create(self->gbm, w, h, GBM_FORMAT_XRGB8888,
			   GBM_BO_USE_SCANOUT | GBM_BO_USE_LINEAR);
	ASSERT_NE(bo, NULL) TH_LOG("gbm_bo_create: %s", strerror(errno));
	p = gbm_bo_map(bo, 0, 0, w, h, GBM_BO_TRANSFER_WRITE, &stride,
		       &map_data);
	ASSERT_NE(p, NULL);
	draw(p, w, h, stride, 7);
	gbm_bo_unmap(bo, map_data);

	fd = gbm_bo_get_fd(bo);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(export_info(GPU, fd, &info), 0)
		TH_LOG("GBM's buffer is not the helper's export");
	EXPECT_STREQ(info.placement, "device");

	ASSERT_EQ(drmPrimeFDToHandle(self->gpu2, fd, &handle), 0);
	handles[0] = handle;
	pitches[0] = gbm_bo_get_stride(bo);
	ASSERT_EQ(drmModeAddFB2(self->gpu2, w, h, DRM_FORMAT_XRGB8888, handles,
				pitches, offsets, &fb_gbm, 0), 0);

	ASSERT_EQ(dumb_create(self->gpu2, w, h, &native), 0);
	p = dumb_map(self->gpu2, &native);
	ASSERT_NE(p, NULL);
	draw(p, w, h, native.pitch, 7);
	munmap(p, native.size);
	handles[0] = native.handle;
	pitches[0] = native.pitch;
	ASSERT_EQ(drmModeAddFB2(self->gpu2, w, h, DRM_FORMAT_XRGB8888, handles,
				pitches, offsets, &fb_native, 0), 0);

	ASSERT_EQ(dumb_create(self->gpu2, w, h, &other), 0);
	p = dumb_map(self->gpu2, &other);
	ASSERT_NE(p, NULL);
	draw(p, w, h, other.pitch, 8);
	munmap(p, other.size);
	handles[0] = other.handle;
	pitches[0] = other.pitch;
	ASSERT_EQ(drmModeAddFB2(self->gpu2, w, h, DRM_FORMAT_XRGB8888, handles,
				pitches, offsets, &fb_other, 0), 0);

	ASSERT_EQ(crtc_crc(GPU2, self->gpu2, self->crtc, self->conn,
			   &self->mode, fb_gbm, &crc_gbm), 0);
	/*
	 * Scanned out from where it is: in VRAM, which the second device
	 * (a dynamic, peer-to-peer importer) composes from through a vmap
	 * that pins it while it is shown.
	 */
	ASSERT_EQ(export_info(GPU, fd, &info), 0);
	show("a GBM scanout buffer shown by a second VKMS device", &info);
	EXPECT_STREQ(info.placement, "device");
	EXPECT_EQ(info.migrations, 0U);
	EXPECT_GE(info.pinned, 1);
	s = attach_line(&info, "faux_driver " GPU2);
	EXPECT_NE(s, NULL) TH_LOG("%s", info.text);
	if (s)
		EXPECT_NE(strstr(s, " p2p=yes dynamic=yes "), NULL)
			TH_LOG("%s", info.text);
	ASSERT_EQ(crtc_crc(GPU2, self->gpu2, self->crtc, self->conn,
			   &self->mode, fb_native, &crc_native), 0);
	ASSERT_EQ(crtc_crc(GPU2, self->gpu2, self->crtc, self->conn,
			   &self->mode, fb_other, &crc_other), 0);
	TH_LOG("CRCs: GBM %08x, native %08x, other picture %08x", crc_gbm,
	       crc_native, crc_other);
	EXPECT_EQ(crc_gbm, crc_native);
	EXPECT_NE(crc_other, crc_native);

	drmModeSetCrtc(self->gpu2, self->crtc, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(self->gpu2, fb_other);
	drmModeRmFB(self->gpu2, fb_native);
	drmModeRmFB(self->gpu2, fb_gbm);
	gem_close(self->gpu2, other.handle);
	gem_close(self->gpu2, native.handle);
	gem_close(self->gpu2, handle);
	close(fd);
	gbm_bo_destroy(bo);
}

/* How many exports of GPU there are, and how many of them are in VRAM. */
static int exports_of(unsigned int *in_vram)
{
	struct export_info info;
	struct dirent *de;
	char p[PATH_MAX];
	int n = 0;
	DIR *d;

	*in_vram = 0;
	d = opendir(P2P_DEBUGFS "/" GPU);
	if (!d)
		return 0;
	while ((de = readdir(d))) {
		const char *s;

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), P2P_DEBUGFS "/" GPU "/%s", de->d_name);
		if (read_file(p, info.text, sizeof(info.text)) < 0)
			continue;
		n++;
		s = strstr(info.text, "placement: ");
		if (s && !strncmp(s, "placement: device ", 18))
			(*in_vram)++;
	}
	closedir(d);
	return n;
}

/* How many lines of @path hold @what. */
static int lines_with(const char *path, const char *what)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		n += !!strstr(line, what);
	fclose(f);
	return n;
}

#define WESTON_SOCKET	"wayland-p2p"
#define WESTON_LOG	"/tmp/weston.log"
/* weston.ini's background colour, as XRGB8888. */
#define BACKGROUND	0x3060c0

FIXTURE(weston) {
	pid_t weston;
};

FIXTURE_SETUP(weston)
{
	self->weston = 0;
	ASSERT_EQ(vkms_make_gpu(GPU, "64M", "vkms"), 0);
}

FIXTURE_TEARDOWN(weston)
{
	if (self->weston > 0) {
		kill(-self->weston, SIGKILL);
		waitpid(self->weston, NULL, 0);
	}
	vkms_remove(GPU);
}

/*
 * weston's DRM backend with the GL renderer (Mesa's llvmpipe through GBM)
 * on a VKMS device with VRAM, started through seatd as a user would, with
 * a plain desktop (a background colour, no panel) and a client that
 * allocates its buffers through GBM on the same device and gives them to
 * weston through linux-dmabuf, asking for direct display: weston scans
 * them out on a plane, no copy, from VKMS VRAM. The desktop's CRC is that
 * of the same colour drawn natively before weston started.
 */
TEST_F_TIMEOUT(weston, desktop_and_dmabuf_client, 300)
{
	static const char ini[] =
		"[core]\nrequire-input=false\nidle-time=0\n"
		"[shell]\nbackground-color=0xff3060c0\npanel-position=none\n"
		"locking=false\n";
	char card[64], drm_device[80], render[64];
	const char * const weston[] = {
		"seatd-launch", "--", "weston", "--backend=drm",
		"--renderer=gl", drm_device, "--config=/tmp/weston.ini",
		"--socket=" WESTON_SOCKET, "--log=" WESTON_LOG, "--debug",
		"--logger-scopes=log,drm-backend", NULL,
	};
	const char * const client[] = {
		"weston-simple-dmabuf-egl", "-d", render, "-g", NULL,
	};
	uint32_t crc_desktop = 0, crc_client = 0, crc_native = 0;
	uint32_t crtc = 0, conn = 0, fb, *px;
	unsigned int in_vram = 0;
	int i, n = 0, fd, ret, scanned = 0;
	drmModeModeInfo mode;
	struct dumb d = { 0 };
	pid_t pid;
	FILE *f;

	ASSERT_EQ(vkms_card(GPU, card, sizeof(card)), 0);
	snprintf(drm_device, sizeof(drm_device), "--drm-device=%s", card + 9);
	snprintf(render, sizeof(render), "%s", card);

	/* The picture weston's desktop should be, drawn natively first. */
	fd = open(card, O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(find_output(fd, &crtc, &conn, &mode), 0);
	ASSERT_EQ(dumb_create(fd, mode.hdisplay, mode.vdisplay, &d), 0);
	px = dumb_map(fd, &d);
	ASSERT_NE(px, NULL);
	for (i = 0; i < (int)(d.size / 4); i++)
		px[i] = BACKGROUND;
	munmap(px, d.size);
	ASSERT_EQ(drmModeAddFB(fd, mode.hdisplay, mode.vdisplay, 24, 32, d.pitch,
			       d.handle, &fb), 0);
	ASSERT_EQ(crtc_crc(GPU, fd, crtc, conn, &mode, fb, &crc_native), 0);
	drmModeSetCrtc(fd, crtc, 0, 0, 0, NULL, 0, NULL);
	drmModeRmFB(fd, fb);
	gem_close(fd, d.handle);
	close(fd);

	f = fopen("/tmp/weston.ini", "w");
	ASSERT_NE(f, NULL);
	ASSERT_EQ(fputs(ini, f) >= 0 && !fclose(f), 1);
	unlink("/tmp/" WESTON_SOCKET);
	unlink("/tmp/" WESTON_SOCKET ".lock");

	self->weston = start(weston, -1, "/tmp/client-weston.log");
	ASSERT_GT(self->weston, 0);
	for (i = 0; i < 90 && access("/tmp/" WESTON_SOCKET, F_OK); i++)
		sleep(1);
	ASSERT_EQ(access("/tmp/" WESTON_SOCKET, F_OK), 0)
		TH_LOG("no weston socket after 90 s:\n%s", tail_of(WESTON_LOG));
	/* Its desktop, once the shell has drawn the background. */
	for (i = 0; i < 60; i++) {
		if (!read_crc(GPU, &crc_desktop) && crc_desktop == crc_native)
			break;
		sleep(1);
	}
	TH_LOG("CRCs: the background colour drawn natively %08x, weston's desktop %08x",
	       crc_native, crc_desktop);
	EXPECT_EQ(crc_desktop, crc_native);

	setenv("WAYLAND_DISPLAY", WESTON_SOCKET, 1);
	pid = start(client, -1, "/tmp/client-dmabuf.log");
	unsetenv("WAYLAND_DISPLAY");
	ASSERT_GT(pid, 0);
	/* Until weston has scanned out a few of its frames. */
	for (i = 0; i < 120; i++) {
		n = exports_of(&in_vram);
		scanned = lines_with(WESTON_LOG, "direct-display buffer");
		if ((n >= 2 && scanned >= 10) || waitpid(pid, &ret, WNOHANG))
			break;
		usleep(500 * 1000);
	}
	ASSERT_EQ(read_crc(GPU, &crc_client), 0);
	EXPECT_EQ(kill(pid, SIGTERM), 0) TH_LOG("the client exited:\n%s",
						tail_of("/tmp/client-dmabuf.log"));
	waitpid(pid, &ret, 0);
	TH_LOG("client: %d buffers exported, %u in VRAM; %d frames scanned out directly",
	       n, in_vram, scanned);
	TH_LOG("CRC with the client %08x", crc_client);
	EXPECT_GE(n, 2);
	EXPECT_EQ(in_vram, (unsigned int)n);
	EXPECT_GE(scanned, 10) TH_LOG("%s", tail_of(WESTON_LOG));
	EXPECT_GE(lines_with(WESTON_LOG, "simple-dmabuf-egl"), 1);
	EXPECT_NE(crc_client, crc_desktop);

	/* Still up; then seatd-launch, seatd, weston and its shell go. */
	EXPECT_EQ(waitpid(self->weston, &ret, WNOHANG), 0)
		TH_LOG("weston exited:\n%s", tail_of(WESTON_LOG));
	kill(-self->weston, SIGTERM);
	ret = finish(self->weston, 30, NULL, NULL);
	self->weston = 0;
	EXPECT_TRUE(ret == 0 || ret == 128 + SIGTERM) TH_LOG("seatd-launch: %d", ret);
}

TEST_HARNESS_MAIN
