// SPDX-License-Identifier: GPL-2.0
/*
 * A VKMS device with two pipelines, both updated by one atomic commit (as
 * fbdev's restore and any compositor driving two outputs do): the commit
 * succeeds, both CRTCs scan out, and the kernel logs no lockdep report and
 * no warning. Not VRAM-specific: VKMS as the base has it, with two CRTCs
 * made through configfs.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include "drm_p2p_test.h"

#define NAME	"twocrtc"
#define PIPES	2

#define DEV_DIR	VKMS_CONFIGFS "/" NAME
#define PLANE_LINK	DEV_DIR "/planes/plane%d/possible_crtcs/crtc%d"
#define ENC_LINK	DEV_DIR "/encoders/encoder%d/possible_crtcs/crtc%d"
#define CONN_LINK	DEV_DIR "/connectors/connector%d/possible_encoders/encoder%d"

/* Make a configfs device with PIPES plane-CRTC-encoder-connector chains. */
static int make_pipes(void)
{
	static const char * const kinds[] = {
		"planes/plane", "crtcs/crtc", "encoders/encoder",
		"connectors/connector",
	};
	char a[256], b[256];
	int i, k;

	snprintf(a, sizeof(a), VKMS_CONFIGFS "/" NAME);
	if (mkdir(a, 0755))
		return -errno;
	for (i = 0; i < PIPES; i++) {
		for (k = 0; k < 4; k++) {
			snprintf(a, sizeof(a), VKMS_CONFIGFS "/" NAME "/%s%d",
				 kinds[k], i);
			if (mkdir(a, 0755))
				return -errno;
		}
		snprintf(a, sizeof(a), VKMS_CONFIGFS "/" NAME "/planes/plane%d/type", i);
		if (write_file(a, "1"))
			return -errno;
		snprintf(a, sizeof(a), VKMS_CONFIGFS "/" NAME "/crtcs/crtc%d", i);
		snprintf(b, sizeof(b), PLANE_LINK, i, i);
		if (symlink(a, b))
			return -errno;
		snprintf(b, sizeof(b), ENC_LINK, i, i);
		if (symlink(a, b))
			return -errno;
		snprintf(a, sizeof(a), VKMS_CONFIGFS "/" NAME "/encoders/encoder%d", i);
		snprintf(b, sizeof(b), CONN_LINK, i, i);
		if (symlink(a, b))
			return -errno;
	}
	snprintf(a, sizeof(a), VKMS_CONFIGFS "/" NAME "/enabled");
	return write_file(a, "1") ? -errno : 0;
}

static void remove_pipes(void)
{
	static const char * const kinds[] = {
		"planes/plane", "crtcs/crtc", "encoders/encoder",
		"connectors/connector",
	};
	char p[256];
	int i, k;

	snprintf(p, sizeof(p), VKMS_CONFIGFS "/" NAME "/enabled");
	write_file(p, "0");
	for (i = 0; i < PIPES; i++) {
		snprintf(p, sizeof(p), PLANE_LINK, i, i);
		unlink(p);
		snprintf(p, sizeof(p), ENC_LINK, i, i);
		unlink(p);
		snprintf(p, sizeof(p), CONN_LINK, i, i);
		unlink(p);
	}
	for (i = 0; i < PIPES; i++) {
		for (k = 0; k < 4; k++) {
			snprintf(p, sizeof(p), VKMS_CONFIGFS "/" NAME "/%s%d",
				 kinds[k], i);
			rmdir(p);
		}
	}
	snprintf(p, sizeof(p), VKMS_CONFIGFS "/" NAME);
	rmdir(p);
}

/* The id of property @name of object @obj, or 0. */
static uint32_t prop_id(int fd, uint32_t obj, uint32_t type, const char *name)
{
	drmModeObjectPropertiesPtr props;
	uint32_t id = 0, i;

	props = drmModeObjectGetProperties(fd, obj, type);
	for (i = 0; props && i < props->count_props && !id; i++) {
		drmModePropertyPtr p = drmModeGetProperty(fd, props->props[i]);

		if (p && !strcmp(p->name, name))
			id = p->prop_id;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return id;
}

static int add(drmModeAtomicReqPtr req, int fd, uint32_t obj, uint32_t type,
	       const char *name, uint64_t value)
{
	uint32_t id = prop_id(fd, obj, type, name);

	if (!id)
		return -ENOENT;
	return drmModeAtomicAddProperty(req, obj, id, value) < 0 ? -EINVAL : 0;
}

/* What one pipeline is made of, by CRTC index. */
struct pipe {
	uint32_t crtc, plane, conn, fb[2], blob;
	struct dumb d[2];
	drmModeModeInfo mode;
};

/* The primary plane and a connected connector of CRTC @idx. */
static int find_pipe(int fd, drmModeResPtr res, int idx, struct pipe *p)
{
	drmModePlaneResPtr planes = drmModeGetPlaneResources(fd);
	uint32_t i;
	int c;

	p->crtc = res->crtcs[idx];
	for (i = 0; planes && i < planes->count_planes && !p->plane; i++) {
		drmModePlanePtr pl = drmModeGetPlane(fd, planes->planes[i]);
		drmModeObjectPropertiesPtr props;
		uint32_t j;

		if (pl && (pl->possible_crtcs & (1u << idx))) {
			props = drmModeObjectGetProperties(fd, pl->plane_id,
							   DRM_MODE_OBJECT_PLANE);
			for (j = 0; props && j < props->count_props; j++) {
				drmModePropertyPtr pr = drmModeGetProperty(fd, props->props[j]);

				if (pr && !strcmp(pr->name, "type") &&
				    props->prop_values[j] == DRM_PLANE_TYPE_PRIMARY)
					p->plane = pl->plane_id;
				drmModeFreeProperty(pr);
			}
			drmModeFreeObjectProperties(props);
		}
		drmModeFreePlane(pl);
	}
	drmModeFreePlaneResources(planes);
	for (c = 0; c < res->count_connectors && !p->conn; c++) {
		drmModeConnectorPtr conn = drmModeGetConnector(fd, res->connectors[c]);
		drmModeEncoderPtr e = NULL;

		if (conn && conn->connection == DRM_MODE_CONNECTED &&
		    conn->count_modes && conn->count_encoders)
			e = drmModeGetEncoder(fd, conn->encoders[0]);
		if (e && (e->possible_crtcs & (1u << idx))) {
			p->conn = conn->connector_id;
			p->mode = conn->modes[0];
		}
		drmModeFreeEncoder(e);
		drmModeFreeConnector(conn);
	}
	return p->plane && p->conn ? 0 : -ENODEV;
}

static int add_plane(drmModeAtomicReqPtr req, int fd, struct pipe *p,
		     uint32_t fb)
{
	uint32_t w = p->mode.hdisplay, h = p->mode.vdisplay;
	int err = 0;

	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "FB_ID", fb);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "CRTC_ID", p->crtc);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "SRC_X", 0);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "SRC_Y", 0);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "SRC_W", (uint64_t)w << 16);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "SRC_H", (uint64_t)h << 16);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "CRTC_X", 0);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "CRTC_Y", 0);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "CRTC_W", w);
	err |= add(req, fd, p->plane, DRM_MODE_OBJECT_PLANE, "CRTC_H", h);
	return err ? -EINVAL : 0;
}

/* Log records since @fd was opened at the end that say lockdep or WARNING. */
static int kmsg_splats(int fd, char *first, size_t len)
{
	char rec[8192];
	ssize_t n;
	int found = 0;

	for (;;) {
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		if (strstr(rec, "possible recursive locking") ||
		    strstr(rec, "inconsistent lock state") ||
		    strstr(rec, "WARNING:") || strstr(rec, "BUG:")) {
			if (!found++) {
				size_t n = strnlen(rec, len - 1);

				memcpy(first, rec, n);
				first[n] = '\0';
			}
		}
	}
	return found;
}

/*
 * Is lockdep still on? It turns itself off after its first report, so a
 * report earlier in the boot would hide this test's: 1, 0, or -1 where the
 * kernel has no lockdep.
 */
static int lockdep_on(void)
{
	char line[128];
	int on = -1;
	FILE *f;

	f = fopen("/proc/lockdep_stats", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, " debug_locks: %d", &on) == 1)
			break;
	fclose(f);
	return on;
}

/*
 * Both pipelines are lit by one commit, flipped together by a second, and
 * turned off together by a third; both CRTCs scanned out, and the kernel
 * said nothing of it.
 */
TEST(one_commit_two_crtcs)
{
	struct pipe p[PIPES] = { 0 };
	drmModeAtomicReqPtr req;
	drmModeResPtr res;
	char splat[512] = "";
	int fd, kmsg, i, f;

	remove_pipes();
	ASSERT_NE(lockdep_on(), 0)
		TH_LOG("lockdep is off: an earlier report turned it off");
	kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_GE(kmsg, 0);
	ASSERT_GE(lseek(kmsg, 0, SEEK_END), 0);
	ASSERT_EQ(make_pipes(), 0) TH_LOG("cannot make a device of two pipelines");
	fd = open_vkms(NAME);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(drmSetClientCap(fd, DRM_CLIENT_CAP_ATOMIC, 1), 0);
	res = drmModeGetResources(fd);
	ASSERT_NE(res, NULL);
	ASSERT_EQ(res->count_crtcs, PIPES);
	for (i = 0; i < PIPES; i++) {
		ASSERT_EQ(find_pipe(fd, res, i, &p[i]), 0) TH_LOG("pipe %d", i);
		for (f = 0; f < 2; f++) {
			uint32_t *m;

			ASSERT_EQ(dumb_create(fd, p[i].mode.hdisplay,
					      p[i].mode.vdisplay, &p[i].d[f]), 0);
			m = dumb_map(fd, &p[i].d[f]);
			ASSERT_NE(m, NULL);
			fill(m, p[i].d[f].size, 0x1000 * i + f);
			munmap(m, p[i].d[f].size);
			ASSERT_EQ(drmModeAddFB(fd, p[i].mode.hdisplay,
					       p[i].mode.vdisplay, 24, 32,
					       p[i].d[f].pitch, p[i].d[f].handle,
					       &p[i].fb[f]), 0);
		}
		ASSERT_EQ(drmModeCreatePropertyBlob(fd, &p[i].mode,
						    sizeof(p[i].mode),
						    &p[i].blob), 0);
	}

	/* On, both at once; then a flip of both; then off, both at once. */
	for (f = 0; f < 3; f++) {
		req = drmModeAtomicAlloc();
		ASSERT_NE(req, NULL);
		for (i = 0; i < PIPES; i++) {
			bool on = f < 2;

			ASSERT_EQ(add(req, fd, p[i].crtc, DRM_MODE_OBJECT_CRTC,
				      "ACTIVE", on), 0);
			ASSERT_EQ(add(req, fd, p[i].crtc, DRM_MODE_OBJECT_CRTC,
				      "MODE_ID", on ? p[i].blob : 0), 0);
			ASSERT_EQ(add(req, fd, p[i].conn, DRM_MODE_OBJECT_CONNECTOR,
				      "CRTC_ID", on ? p[i].crtc : 0), 0);
			if (on) {
				ASSERT_EQ(add_plane(req, fd, &p[i], p[i].fb[f]), 0);
			} else {
				ASSERT_EQ(add(req, fd, p[i].plane, DRM_MODE_OBJECT_PLANE,
					      "FB_ID", 0), 0);
				ASSERT_EQ(add(req, fd, p[i].plane, DRM_MODE_OBJECT_PLANE,
					      "CRTC_ID", 0), 0);
			}
		}
		EXPECT_EQ(drmModeAtomicCommit(fd, req,
					      DRM_MODE_ATOMIC_ALLOW_MODESET, NULL), 0)
			TH_LOG("commit %d: %s", f, strerror(errno));
		drmModeAtomicFree(req);
		for (i = 0; i < PIPES && f < 2; i++) {
			drmModeCrtcPtr c = drmModeGetCrtc(fd, p[i].crtc);

			ASSERT_NE(c, NULL);
			EXPECT_EQ(c->buffer_id, p[i].fb[f]) TH_LOG("CRTC %d", i);
			EXPECT_TRUE(c->mode_valid);
			drmModeFreeCrtc(c);
		}
	}

	for (i = 0; i < PIPES; i++) {
		for (f = 0; f < 2; f++) {
			drmModeRmFB(fd, p[i].fb[f]);
			gem_close(fd, p[i].d[f].handle);
		}
		drmModeDestroyPropertyBlob(fd, p[i].blob);
	}
	drmModeFreeResources(res);
	close(fd);
	remove_pipes();
	EXPECT_EQ(kmsg_splats(kmsg, splat, sizeof(splat)), 0)
		TH_LOG("the kernel log says: %s", splat);
	close(kmsg);
}

TEST_HARNESS_MAIN
