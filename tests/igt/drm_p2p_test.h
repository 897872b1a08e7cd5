/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the project's userspace tests: open a DRM device by
 * driver name, dumb buffers, patterns.
 *
 * Copyright 2026 The drm-p2p authors
 */
#ifndef DRM_P2P_TEST_H
#define DRM_P2P_TEST_H

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/dma-buf.h>
#include <xf86drm.h>
#include <xf86drmMode.h>
#include <drm_fourcc.h>

#include "kselftest_harness.h"

struct dumb {
	uint32_t handle;
	uint32_t pitch;
	uint64_t size;
};

/* Open the @nth card whose driver is @name; -1 if there is none. */
static inline int open_driver(const char *name, int nth)
{
	char path[64];
	int i, fd;

	for (i = 0; i < 16; i++) {
		drmVersionPtr v;

		snprintf(path, sizeof(path), "/dev/dri/card%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		v = drmGetVersion(fd);
		if (v && !strcmp(v->name, name) && nth-- == 0) {
			drmFreeVersion(v);
			return fd;
		}
		drmFreeVersion(v);
		close(fd);
	}
	return -1;
}

static inline int dumb_create(int fd, uint32_t width, uint32_t height,
			      struct dumb *d)
{
	struct drm_mode_create_dumb arg = {
		.width = width, .height = height, .bpp = 32,
	};

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &arg))
		return -errno;
	d->handle = arg.handle;
	d->pitch = arg.pitch;
	d->size = arg.size;
	return 0;
}

static inline void *dumb_map(int fd, struct dumb *d)
{
	struct drm_mode_map_dumb arg = { .handle = d->handle };
	void *p;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &arg))
		return NULL;
	p = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		 arg.offset);
	return p == MAP_FAILED ? NULL : p;
}

/* CPU access to a dma-buf through its fd, bracketed by DMA_BUF_IOCTL_SYNC. */
static inline void *dmabuf_map(int fd, uint64_t size)
{
	struct dma_buf_sync sync = {
		.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW,
	};
	void *p;

	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync)) {
		munmap(p, size);
		return NULL;
	}
	return p;
}

static inline void dmabuf_unmap(int fd, void *p, uint64_t size)
{
	struct dma_buf_sync sync = {
		.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW,
	};

	ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
	munmap(p, size);
}

static inline void gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close arg = { .handle = handle };

	drmIoctl(fd, DRM_IOCTL_GEM_CLOSE, &arg);
}

/* A pattern that differs in every word, so a misplaced page shows. */
static inline void fill(uint32_t *p, uint64_t size, uint32_t seed)
{
	uint64_t i;

	for (i = 0; i < size / 4; i++)
		p[i] = seed ^ (uint32_t)(i * 2654435761u);
}

/* Index of the first wrong word plus one, or 0 if all are right. */
static inline unsigned long long check(const uint32_t *p, uint64_t size, uint32_t seed)
{
	uint64_t i;

	for (i = 0; i < size / 4; i++)
		if (p[i] != (seed ^ (uint32_t)(i * 2654435761u)))
			return i + 1;
	return 0;
}

#define VKMS_CONFIGFS	"/sys/kernel/config/vkms"
#define DRI_DEBUGFS	"/sys/kernel/debug/dri"
#define P2P_DEBUGFS	"/sys/kernel/debug/drm_prime_p2p"

/* Write @val to a sysfs, configfs or debugfs file: 0 or -errno. */
static inline int write_file(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, val, strlen(val));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Read a small file into @buf, NUL-terminated: 0 or -errno. */
static inline int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

/*
 * Make a VKMS device in configfs, not yet enabled: one primary plane, CRTC,
 * encoder and connector, linked. Returns 0 or -errno.
 */
static inline int vkms_make(const char *name)
{
	static const char * const dirs[] = {
		"", "/planes/plane0", "/crtcs/crtc0", "/encoders/encoder0",
		"/connectors/connector0",
	};
	static const char * const links[][2] = {
		{ "/crtcs/crtc0", "/planes/plane0/possible_crtcs/crtc0" },
		{ "/crtcs/crtc0", "/encoders/encoder0/possible_crtcs/crtc0" },
		{ "/encoders/encoder0", "/connectors/connector0/possible_encoders/encoder0" },
	};
	char a[256], b[256];
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(a, sizeof(a), VKMS_CONFIGFS "/%s%s", name, dirs[i]);
		if (mkdir(a, 0755))
			return -errno;
	}
	snprintf(a, sizeof(a), VKMS_CONFIGFS "/%s/planes/plane0/type", name);
	if (write_file(a, "1"))
		return -errno;
	for (i = 0; i < ARRAY_SIZE(links); i++) {
		snprintf(a, sizeof(a), VKMS_CONFIGFS "/%s%s", name, links[i][0]);
		snprintf(b, sizeof(b), VKMS_CONFIGFS "/%s%s", name, links[i][1]);
		if (symlink(a, b))
			return -errno;
	}
	return 0;
}

/* Disable and remove a device vkms_make() made, as far as it exists. */
static inline void vkms_remove(const char *name)
{
	static const char * const paths[] = {
		"/planes/plane0/possible_crtcs/crtc0",
		"/encoders/encoder0/possible_crtcs/crtc0",
		"/connectors/connector0/possible_encoders/encoder0",
	};
	static const char * const dirs[] = {
		"/planes/plane0", "/crtcs/crtc0", "/encoders/encoder0",
		"/connectors/connector0", "",
	};
	char p[256];
	unsigned int i;

	snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s/enabled", name);
	write_file(p, "0");
	for (i = 0; i < ARRAY_SIZE(paths); i++) {
		snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s%s", name, paths[i]);
		unlink(p);
	}
	for (i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s%s", name, dirs[i]);
		rmdir(p);
	}
}

/*
 * Make and enable a VKMS device with @vram bytes of VRAM (as vram_size
 * takes it), of which peers reach @visible (NULL: all of it), and the
 * peer-to-peer @policy, replacing one of that name. Returns 0 or -errno.
 */
static inline int vkms_make_gpu_bar(const char *name, const char *vram,
				    const char *visible, const char *policy)
{
	char p[256];
	int err;

	vkms_remove(name);
	err = vkms_make(name);
	if (err)
		return err;
	snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s/vram_size", name);
	err = write_file(p, vram);
	if (err)
		return err;
	if (visible) {
		snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s/vram_visible", name);
		err = write_file(p, visible);
		if (err)
			return err;
	}
	snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s/p2p_policy", name);
	err = write_file(p, policy);
	if (err)
		return err;
	snprintf(p, sizeof(p), VKMS_CONFIGFS "/%s/enabled", name);
	return write_file(p, "1");
}

/* The same, peers reaching all of VRAM. */
static inline int vkms_make_gpu(const char *name, const char *vram,
				const char *policy)
{
	return vkms_make_gpu_bar(name, vram, NULL, policy);
}

/* The path of the card of the VKMS device named @name: 0 or -ENOENT. */
static inline int vkms_card(const char *name, char *card, size_t len)
{
	char path[64], dev[PATH_MAX];
	const char *base;
	int i;

	for (i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/sys/class/drm/card%d/device", i);
		if (!realpath(path, dev))
			continue;
		base = strrchr(dev, '/');
		if (base && !strcmp(base + 1, name)) {
			snprintf(card, len, "/dev/dri/card%d", i);
			return 0;
		}
	}
	return -ENOENT;
}

/* Open the card of the VKMS device named @name; -1 if there is none. */
static inline int open_vkms(const char *name)
{
	char card[64];

	if (vkms_card(name, card, sizeof(card)))
		return -1;
	return open(card, O_RDWR | O_CLOEXEC);
}

/* Does the debugfs directory of device @name hold @what? */
static inline bool debugfs_exists(const char *name, const char *what)
{
	char p[256];

	snprintf(p, sizeof(p), DRI_DEBUGFS "/%s/%s", name, what);
	return access(p, F_OK) == 0;
}

/* The P2P exporter's debugfs view of one exported buffer. */
struct export_info {
	char placement[16];	/* "device" or "system" */
	unsigned int mem_type;
	int pinned;
	unsigned int migrations;
	unsigned int invalidations;
	/* where in device memory, in bytes; -1 in system memory */
	long long offset;
	char text[4096];	/* all of it, attachments included */
};

/*
 * Read the view of the dma-buf @fd that device @name exported; -ENOENT when
 * the device did not export it through the helper. @info may be NULL.
 */
static inline int export_info(const char *name, int fd, struct export_info *info)
{
	struct export_info dummy;
	struct stat st;
	char p[PATH_MAX];
	const char *s;
	int err;

	if (!info)
		info = &dummy;
	if (fstat(fd, &st))
		return -errno;
	snprintf(p, sizeof(p), P2P_DEBUGFS "/%s/%llu", name,
		 (unsigned long long)st.st_ino);
	err = read_file(p, info->text, sizeof(info->text));
	if (err == -ENOENT) {
		/* A device of the same name left exports: <name>.<n>. */
		size_t len = strlen(name);
		DIR *dir = opendir(P2P_DEBUGFS);
		struct dirent *e;

		while (dir && err == -ENOENT && (e = readdir(dir))) {
			if (strncmp(e->d_name, name, len) || e->d_name[len] != '.')
				continue;
			snprintf(p, sizeof(p), P2P_DEBUGFS "/%s/%llu", e->d_name,
				 (unsigned long long)st.st_ino);
			err = read_file(p, info->text, sizeof(info->text));
		}
		if (dir)
			closedir(dir);
	}
	if (err)
		return err;
	s = strstr(info->text, "placement: ");
	if (!s || sscanf(s, "placement: %15s %u", info->placement,
			 &info->mem_type) != 2)
		return -EPROTO;
	s = strstr(info->text, "pinned: ");
	if (!s || sscanf(s, "pinned: %d", &info->pinned) != 1)
		return -EPROTO;
	s = strstr(info->text, "migrations: ");
	if (!s || sscanf(s, "migrations: %u", &info->migrations) != 1)
		return -EPROTO;
	s = strstr(info->text, "invalidations: ");
	if (!s || sscanf(s, "invalidations: %u", &info->invalidations) != 1)
		return -EPROTO;
	info->offset = -1;
	s = strstr(info->text, "offset: ");
	if (s && sscanf(s, "offset: %lld", &info->offset) != 1)
		return -EPROTO;
	/* An offset for device memory, none for system memory. */
	if (!strcmp(info->placement, "device") ? info->offset < 0 :
						   info->offset >= 0)
		return -EPROTO;
	return 0;
}

/*
 * Pressure on a device's VRAM: up to @max new 4 MiB dumb buffers on @drm
 * into @hogs, each placed in VRAM as it is made, evicting what can move.
 * With @watch >= 0, a dma-buf the device @name exported, stop once that
 * buffer is in system memory. Returns how many buffers were made; fewer
 * than @max when one could not be made or the watched buffer moved.
 */
static inline int vram_press(int drm, struct dumb *hogs, int max,
			     const char *name, int watch)
{
	struct export_info info;
	int n = 0;

	while (n < max && !dumb_create(drm, 1024, 1024, &hogs[n])) {
		n++;
		if (watch >= 0 && !export_info(name, watch, &info) &&
		    !strcmp(info.placement, "system"))
			break;
	}
	return n;
}

static inline void vram_press_end(int drm, struct dumb *hogs, int n)
{
	while (n--)
		gem_close(drm, hogs[n].handle);
}

/*
 * With P2P_SHOW set in the environment (the demonstration), print an
 * export's view as TAP comments, headed by @what.
 */
static inline void show(const char *what, const struct export_info *info)
{
	const char *line = info->text, *end;

	if (!getenv("P2P_SHOW"))
		return;
	printf("# %s:\n", what);
	while (*line) {
		end = strchrnul(line, '\n');
		printf("# | %.*s\n", (int)(end - line), line);
		line = *end ? end + 1 : end;
	}
}

/* The line of @info's text about the attachment of driver @drv, or NULL. */
static inline const char *attach_line(const struct export_info *info,
				      const char *drv)
{
	char key[64];

	snprintf(key, sizeof(key), "attachment: %s ", drv);
	return strstr(info->text, key);
}

/* The first connected connector, a CRTC it can use, and its first mode. */
static inline int find_output(int fd, uint32_t *crtc, uint32_t *conn,
			      drmModeModeInfo *mode)
{
	drmModeResPtr res = drmModeGetResources(fd);
	int i, err = -ENODEV;

	if (!res)
		return -errno;
	for (i = 0; i < res->count_connectors && err; i++) {
		drmModeConnectorPtr c = drmModeGetConnector(fd, res->connectors[i]);
		drmModeEncoderPtr e;

		if (!c)
			continue;
		if (c->connection == DRM_MODE_CONNECTED && c->count_modes &&
		    c->count_encoders) {
			e = drmModeGetEncoder(fd, c->encoders[0]);
			if (e) {
				int j;

				for (j = 0; j < res->count_crtcs; j++) {
					if (e->possible_crtcs & (1u << j)) {
						*crtc = res->crtcs[j];
						*conn = c->connector_id;
						*mode = c->modes[0];
						err = 0;
						break;
					}
				}
				drmModeFreeEncoder(e);
			}
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return err;
}

/*
 * The CRC of the frames CRTC 0 of the device named @name shows, a few
 * vblanks in, whoever drives it. Each read of crc/data gives one entry.
 * Returns 0 or a negative errno.
 */
static inline int read_crc(const char *name, uint32_t *crc)
{
	char path[256], line[128];
	unsigned int frame, value = 0;
	int n, dfd, err;
	ssize_t len;

	snprintf(path, sizeof(path), DRI_DEBUGFS "/%s/crtc-0/crc/control", name);
	err = write_file(path, "auto");
	if (err)
		return err;
	snprintf(path, sizeof(path), DRI_DEBUGFS "/%s/crtc-0/crc/data", name);
	dfd = open(path, O_RDONLY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	for (n = 0; n < 3; n++) {
		len = read(dfd, line, sizeof(line) - 1);
		if (len <= 0)
			break;
		line[len] = '\0';
		if (sscanf(line, "%x %x", &frame, &value) != 2)
			break;
	}
	close(dfd);
	if (n < 3)
		return -EIO;
	*crc = value;
	return 0;
}

/*
 * Show @fb on @crtc of the device named @name, open as @fd, through @conn
 * in @mode, and read the CRC of its frames (read_crc()).
 */
static inline int crtc_crc(const char *name, int fd, uint32_t crtc,
			   uint32_t conn, drmModeModeInfo *mode, uint32_t fb,
			   uint32_t *crc)
{
	if (drmModeSetCrtc(fd, crtc, fb, 0, 0, &conn, 1, mode))
		return -errno;
	return read_crc(name, crc);
}

#endif
