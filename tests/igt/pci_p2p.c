// SPDX-License-Identifier: GPL-2.0
/*
 * PCI peer-to-peer end to end: a VKMS device whose VRAM is the BAR of an
 * ivshmem-plain device exports a buffer; edu, a PCI device with a DMA
 * engine (tests/kmod/edu_p2p.c), imports it and moves bytes with its
 * engine. Run in a guest booted with a topology of tests/topologies/, whose
 * expectation (TOPOLOGY_EXPECT) says what the exporter must choose:
 *
 *   bus         P2P at bus addresses, through a switch
 *   hostbridge  P2P at bus addresses, through a whitelisted host bridge
 *   iova        P2P through the host bridge, at an IOVA of the IOMMU
 *   migrate     edu cannot reach the BAR: the buffer moves to system memory
 *
 * What the CPU wrote the device reads and the reverse; eviction while edu
 * holds a mapping; revocation by removing the VKMS device and by removing
 * the ivshmem device; the importer going away under its mapping.
 *
 * Copyright 2026 The drm-p2p authors
 */
#include <inttypes.h>
#include <pthread.h>
#include <time.h>

#include "drm_p2p_test.h"
#include "edu_p2p_uapi.h"

#define GPU		"pcigpu"
#define VRAM_SIZE	"16M"
#define BUF_W		1024
#define BUF_H		1024	/* 4 MiB */
#define SEED		0x9e3779b9U
#define PCI_DEVS	"/sys/bus/pci/devices"
#define PCI_DRVS	"/sys/bus/pci/drivers"

FIXTURE(pci) {
	int gpu, edu;
	const char *expect;
	char bar[32];			/* the ivshmem device's PCI name */
	uint64_t bar_start, bar_end;	/* its BAR 2 */
	/* The buffer edu imports: in VRAM, mapped by the CPU, its dma-buf. */
	struct dumb d;
	uint32_t *map;
	int fd;
	/* edu's PCI name and its IOMMU group's type, while it is changed */
	char edu_dev[32], edu_type[32];
};

/* The PCI name of the first device bound to @driver. */
static int bound_device(const char *driver, char *name, size_t len)
{
	char path[PATH_MAX];
	struct dirent *e;
	int err = -ENOENT;
	DIR *dir;

	snprintf(path, sizeof(path), PCI_DRVS "/%s", driver);
	dir = opendir(path);
	while (dir && err && (e = readdir(dir))) {
		if (!strchr(e->d_name, ':'))
			continue;
		if (strlen(e->d_name) >= len)
			continue;
		memcpy(name, e->d_name, strlen(e->d_name) + 1);
		err = 0;
	}
	if (dir)
		closedir(dir);
	return err;
}

/* The first ivshmem-plain device bound to VKMS's vkms-vram driver. */
static int find_bar(char *name, size_t len, uint64_t *start, uint64_t *end)
{
	char path[PATH_MAX], line[256];
	FILE *f;
	int i, err;

	err = bound_device("vkms-vram", name, len);
	if (err)
		return err;
	snprintf(path, sizeof(path), PCI_DEVS "/%s/resource", name);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	for (i = 0; i <= 2 && fgets(line, sizeof(line), f); i++)
		;
	fclose(f);
	if (i != 3 || sscanf(line, "%" SCNx64 " %" SCNx64, start, end) != 2)
		return -EPROTO;
	return 0;
}

static int gpu_attr(const char *attr, const char *val)
{
	char p[256];

	snprintf(p, sizeof(p), VKMS_CONFIGFS "/" GPU "/%s", attr);
	return write_file(p, val);
}

FIXTURE_SETUP(pci)
{
	self->gpu = -1;
	self->edu = -1;
	self->fd = -1;
	self->expect = getenv("TOPOLOGY_EXPECT");
	ASSERT_NE(self->expect, NULL) TH_LOG("not booted with a topology");
	ASSERT_EQ(find_bar(self->bar, sizeof(self->bar), &self->bar_start,
			   &self->bar_end), 0)
		TH_LOG("no ivshmem-plain device bound to vkms-vram");
	self->edu = open("/dev/edu_p2p", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->edu, 0) TH_LOG("no /dev/edu_p2p");

	vkms_remove(GPU);
	ASSERT_EQ(vkms_make(GPU), 0);
	ASSERT_EQ(gpu_attr("vram_size", VRAM_SIZE), 0);
	ASSERT_EQ(gpu_attr("vram_pci", self->bar), 0);
	ASSERT_EQ(gpu_attr("enabled", "1"), 0);
	self->gpu = open_vkms(GPU);
	ASSERT_GE(self->gpu, 0);
}

/* Let go of the buffer bar_import() made, as far as it got. */
static void release_buffer(struct _test_data_pci *self)
{
	if (self->map)
		munmap(self->map, self->d.size);
	self->map = NULL;
	if (self->fd >= 0)
		close(self->fd);
	self->fd = -1;
	if (self->gpu >= 0 && self->d.handle)
		gem_close(self->gpu, self->d.handle);
	self->d.handle = 0;
}

static int edu_domain(struct _test_data_pci *self, const char *type);

FIXTURE_TEARDOWN(pci)
{
	char path[PATH_MAX];

	release_buffer(self);
	/* A test that failed with the ivshmem device removed: bring it back. */
	snprintf(path, sizeof(path), PCI_DRVS "/vkms-vram/%s", self->bar);
	if (self->bar[0] && access(path, F_OK))
		write_file("/sys/bus/pci/rescan", "1");
	if (self->edu_type[0] && edu_domain(self, self->edu_type))
		fprintf(stderr, "# cannot give edu's IOMMU group back its type %s\n",
			self->edu_type);
	if (self->edu >= 0)
		close(self->edu);
	if (self->gpu >= 0)
		close(self->gpu);
	vkms_remove(GPU);
}

static bool p2p_expected(const char *expect)
{
	return strcmp(expect, "migrate") != 0;
}

static bool iova(struct _test_data_pci *self)
{
	return !strcmp(self->expect, "iova");
}

static const char *kind_name(uint32_t kind)
{
	switch (kind) {
	case EDU_P2P_PEER:
		return "a bus address in the BAR";
	case EDU_P2P_PAGES:
		return "a bus address in system memory";
	case EDU_P2P_IOVA:
		return "an IOVA";
	default:
		return "no mapping";
	}
}

static int edu_import(int edu, int fd, uint32_t flags)
{
	struct edu_p2p_import req = { .fd = fd, .flags = flags };

	return ioctl(edu, EDU_P2P_IMPORT, &req) ? -errno : 0;
}

static int edu_dma(int edu, uint64_t offset, uint32_t len, uint32_t from,
		   uint32_t to)
{
	struct edu_p2p_dma req = {
		.offset = offset, .len = len, .from = from, .to = to,
	};

	return ioctl(edu, EDU_P2P_DMA, &req) ? -errno : 0;
}

static int edu_scratch(int edu, void *buf, uint32_t len, bool write)
{
	struct edu_p2p_scratch req = {
		.data = (uintptr_t)buf, .len = len,
	};

	return ioctl(edu, write ? EDU_P2P_WRITE_SCRATCH : EDU_P2P_READ_SCRATCH,
		     &req) ? -errno : 0;
}

static int edu_info(int edu, struct edu_p2p_info *info)
{
	return ioctl(edu, EDU_P2P_INFO, info) ? -errno : 0;
}

/*
 * A 4 MiB buffer in VRAM on the BAR, filled from the CPU, imported by edu
 * with the EDU_P2P_IMPORT_* @flags; with @before, edu has read from it
 * once, and @before is what it says.
 */
static void bar_import_flags(struct __test_metadata *_metadata,
			     struct _test_data_pci *self,
			     struct edu_p2p_info *before, uint32_t flags)
{
	struct export_info info;

	ASSERT_EQ(dumb_create(self->gpu, BUF_W, BUF_H, &self->d), 0);
	self->map = dumb_map(self->gpu, &self->d);
	ASSERT_NE(self->map, NULL);
	fill(self->map, self->d.size, SEED);
	ASSERT_EQ(drmPrimeHandleToFD(self->gpu, self->d.handle,
				     DRM_CLOEXEC | DRM_RDWR, &self->fd), 0);
	ASSERT_EQ(export_info(GPU, self->fd, &info), 0);
	EXPECT_STREQ(info.placement, "device");
	ASSERT_EQ(edu_import(self->edu, self->fd, flags), 0);
	if (!before)
		return;
	ASSERT_EQ(edu_dma(self->edu, 0, 64, EDU_P2P_DMABUF, EDU_P2P_SCRATCH), 0);
	ASSERT_EQ(edu_info(self->edu, before), 0);
}

static void bar_import(struct __test_metadata *_metadata,
		       struct _test_data_pci *self, struct edu_p2p_info *before)
{
	bar_import_flags(_metadata, self, before, 0);
}

/* The expected bytes of the pattern fill() wrote, at @offset. */
static void expected(uint8_t *out, uint64_t offset, uint32_t len)
{
	uint32_t w[EDU_P2P_BUF_SIZE / 4 + 2];
	uint64_t first = offset / 4, i;

	for (i = 0; i < ARRAY_SIZE(w); i++)
		w[i] = SEED ^ (uint32_t)((first + i) * 2654435761u);
	memcpy(out, (uint8_t *)w + offset % 4, len);
}

/* edu's DMA engine reads the buffer at @offset: the pattern fill() wrote. */
static void edu_reads_pattern(struct __test_metadata *_metadata,
			      struct _test_data_pci *self, uint64_t offset)
{
	uint8_t want[EDU_P2P_BUF_SIZE], got[EDU_P2P_BUF_SIZE];

	memset(got, 0, sizeof(got));
	ASSERT_EQ(edu_scratch(self->edu, got, sizeof(got), true), 0);
	ASSERT_EQ(edu_dma(self->edu, offset, sizeof(got), EDU_P2P_DMABUF,
			  EDU_P2P_SCRATCH), 0);
	ASSERT_EQ(edu_scratch(self->edu, got, sizeof(got), false), 0);
	expected(want, offset, sizeof(want));
	EXPECT_EQ(memcmp(got, want, sizeof(got)), 0)
		TH_LOG("edu read wrong bytes at offset %llu",
		       (unsigned long long)offset);
}

/* Check what the exporter and edu say of the live mapping. */
static void check_mapping(struct __test_metadata *_metadata,
			  struct _test_data_pci *self)
{
	struct export_info info;
	struct edu_p2p_info ei;
	bool in_bar;
	const char *line;

	ASSERT_EQ(edu_info(self->edu, &ei), 0);
	ASSERT_EQ(export_info(GPU, self->fd, &info), 0);
	show("the export while edu has it mapped", &info);
	line = attach_line(&info, "edu_p2p");
	ASSERT_NE(line, NULL) TH_LOG("%s", info.text);
	in_bar = ei.first_dma >= self->bar_start && ei.first_dma <= self->bar_end;
	printf("# %s: edu got %s, %u entries, first DMA address %#llx (BAR %#llx-%#llx)\n",
	       self->expect, kind_name(ei.kind),
	       ei.nents, (unsigned long long)ei.first_dma,
	       (unsigned long long)self->bar_start,
	       (unsigned long long)self->bar_end);
	if (p2p_expected(self->expect)) {
		EXPECT_STREQ(info.placement, "device");
		EXPECT_NE(strstr(line, " p2p=yes "), NULL) TH_LOG("%s", line);
		EXPECT_NE(strstr(line, " kind=p2p-pci "), NULL) TH_LOG("%s", line);
		EXPECT_EQ(ei.peer2peer, 1U);
		EXPECT_EQ(ei.kind, iova(self) ? (uint32_t)EDU_P2P_IOVA :
			  (uint32_t)EDU_P2P_PEER);
		/* Bus addresses are the BAR's; an IOVA is not. */
		EXPECT_EQ(in_bar, strcmp(self->expect, "iova") != 0);
		/* One contiguous range: one entry. */
		EXPECT_EQ(ei.nents, 1U);
	} else {
		EXPECT_STREQ(info.placement, "system");
		EXPECT_GE(info.migrations, 1U);
		EXPECT_NE(strstr(line, " p2p=no "), NULL) TH_LOG("%s", line);
		EXPECT_NE(strstr(line, " kind=pages "), NULL) TH_LOG("%s", line);
		EXPECT_EQ(ei.peer2peer, 0U);
		EXPECT_EQ(ei.kind, (uint32_t)EDU_P2P_PAGES);
		EXPECT_FALSE(in_bar);
	}
}

/* DMA_BUF_IOCTL_SYNC on dma-buf @fd; 0 or -errno. */
static int dmabuf_sync(int fd, uint64_t flags)
{
	struct dma_buf_sync sync = { .flags = flags };

	return ioctl(fd, DMA_BUF_IOCTL_SYNC, &sync) ? -errno : 0;
}

/*
 * In a guest booted with swiotlb=force every streaming DMA mapping is
 * bounced: make sure edu's were (the pool's high-water mark), so that a
 * pass there means the bounce buffers were synced, not bypassed.
 */
static void swiotlb_used(struct __test_metadata *_metadata)
{
	char cmdline[1024] = "", buf[32] = "";

	read_file("/proc/cmdline", cmdline, sizeof(cmdline));
	if (!strstr(cmdline, "swiotlb=force"))
		return;
	ASSERT_EQ(read_file("/sys/kernel/debug/swiotlb/io_tlb_used_hiwater",
			    buf, sizeof(buf)), 0);
	printf("# swiotlb=force: bounce buffer slots used at most: %s", buf);
	EXPECT_GT(strtoul(buf, NULL, 10), 0UL);
}

/* Offsets that start, straddle pages in the middle of, and end the buffer. */
static const uint64_t offsets[] = { 0, (1 << 20) + 100, (4 << 20) - 4096 };

/* What the CPU wrote into VRAM, edu's DMA engine reads. */
TEST_F(pci, device_reads)
{
	unsigned int i;

	bar_import(_metadata, self, NULL);
	for (i = 0; i < ARRAY_SIZE(offsets); i++)
		edu_reads_pattern(_metadata, self, offsets[i]);
	check_mapping(_metadata, self);
}

/* What edu's DMA engine writes, the CPU reads from VRAM. */
TEST_F(pci, device_writes)
{
	uint8_t buf[EDU_P2P_BUF_SIZE], want[EDU_P2P_BUF_SIZE];
	uint8_t *map;
	unsigned int i;

	bar_import(_metadata, self, NULL);
	map = (uint8_t *)self->map;
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7 + 3);
	ASSERT_EQ(edu_scratch(self->edu, buf, sizeof(buf), true), 0);
	ASSERT_EQ(edu_dma(self->edu, offsets[1], sizeof(buf), EDU_P2P_SCRATCH,
			  EDU_P2P_DMABUF), 0);
	check_mapping(_metadata, self);
	/*
	 * The CPU's view of the buffer, wherever it is now, inside a CPU
	 * access of the dma-buf: where edu's DMA is bounced (swiotlb), that
	 * is where the exporter copies what edu wrote back to the pages.
	 */
	ASSERT_EQ(dmabuf_sync(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		  0);
	EXPECT_EQ(memcmp(map + offsets[1], buf, sizeof(buf)), 0)
		TH_LOG("the CPU does not see what edu wrote");
	/* And nothing else moved: the bytes on either side are the pattern. */
	expected(want, offsets[1] - 64, 64);
	EXPECT_EQ(memcmp(map + offsets[1] - 64, want, 64), 0);
	expected(want, offsets[1] + sizeof(buf), 64);
	EXPECT_EQ(memcmp(map + offsets[1] + sizeof(buf), want, 64), 0);
	ASSERT_EQ(dmabuf_sync(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
		  0);
	swiotlb_used(_metadata);
}

/*
 * Eviction while edu holds a mapping: edu is told, its next transfer maps
 * the buffer where it went, and reads the same bytes.
 */
TEST_F(pci, evict_while_mapped)
{
	uint8_t want[EDU_P2P_BUF_SIZE], got[EDU_P2P_BUF_SIZE];
	struct edu_p2p_info before, after;
	struct export_info info;
	struct dumb hogs[5];
	int made;

	bar_import(_metadata, self, &before);
	EXPECT_EQ(before.kind, iova(self) ? (uint32_t)EDU_P2P_IOVA :
		  p2p_expected(self->expect) ? (uint32_t)EDU_P2P_PEER :
		  (uint32_t)EDU_P2P_PAGES);

	/* 20 MiB of new buffers into 16 MiB of VRAM. */
	made = vram_press(self->gpu, hogs, ARRAY_SIZE(hogs), NULL, -1);
	EXPECT_EQ(made, (int)ARRAY_SIZE(hogs));
	ASSERT_EQ(export_info(GPU, self->fd, &info), 0);
	show("after 20 MiB of new buffers in 16 MiB of VRAM", &info);
	EXPECT_STREQ(info.placement, "system");
	ASSERT_EQ(edu_info(self->edu, &after), 0);
	/* Told when it moved out of VRAM; already in system memory, not. */
	EXPECT_EQ(after.invalidations, before.invalidations +
		  (p2p_expected(self->expect) ? 1 : 0));
	if (p2p_expected(self->expect))
		EXPECT_EQ(after.kind, (uint32_t)EDU_P2P_UNMAPPED);

	ASSERT_EQ(edu_dma(self->edu, offsets[1], sizeof(got), EDU_P2P_DMABUF,
			  EDU_P2P_SCRATCH), 0);
	ASSERT_EQ(edu_scratch(self->edu, got, sizeof(got), false), 0);
	expected(want, offsets[1], sizeof(want));
	EXPECT_EQ(memcmp(got, want, sizeof(got)), 0);
	ASSERT_EQ(edu_info(self->edu, &after), 0);
	EXPECT_EQ(after.kind, iova(self) ? (uint32_t)EDU_P2P_IOVA :
		  (uint32_t)EDU_P2P_PAGES);
	EXPECT_EQ(after.maps, before.maps + (p2p_expected(self->expect) ? 1 : 0));
	ASSERT_EQ(export_info(GPU, self->fd, &info), 0);
	EXPECT_NE(strstr(info.text, " kind=pages "), NULL) TH_LOG("%s", info.text);
	EXPECT_FALSE(after.first_dma >= self->bar_start &&
		     after.first_dma <= self->bar_end);

	vram_press_end(self->gpu, hogs, made);
}

/*
 * Removing the VKMS device revokes its exports: edu is told, and its next
 * transfer fails with ENODEV instead of reaching the BAR.
 */
TEST_F(pci, revoke_device)
{
	struct edu_p2p_info before, after;

	bar_import(_metadata, self, &before);
	/* The CPU's mapping holds the DRM file open: the device stays. */
	munmap(self->map, self->d.size);
	self->map = NULL;
	close(self->gpu);
	self->gpu = -1;
	vkms_remove(GPU);

	ASSERT_EQ(edu_info(self->edu, &after), 0);
	EXPECT_EQ(after.invalidations, before.invalidations + 1);
	EXPECT_EQ(after.kind, (uint32_t)EDU_P2P_UNMAPPED);
	EXPECT_EQ(edu_dma(self->edu, 0, 64, EDU_P2P_DMABUF, EDU_P2P_SCRATCH),
		  -ENODEV);
	EXPECT_EQ(ioctl(self->edu, EDU_P2P_RELEASE), 0);
}

/*
 * After the ivshmem device was removed: edu and the VKMS device let go, and
 * a rescan brings the device back, bound to vkms-vram again.
 */
static void bar_back(struct __test_metadata *_metadata,
		     struct _test_data_pci *self)
{
	char path[PATH_MAX];

	EXPECT_EQ(ioctl(self->edu, EDU_P2P_RELEASE), 0);
	release_buffer(self);
	close(self->gpu);
	self->gpu = -1;
	vkms_remove(GPU);
	ASSERT_EQ(write_file("/sys/bus/pci/rescan", "1"), 0);
	snprintf(path, sizeof(path), PCI_DRVS "/vkms-vram/%s", self->bar);
	EXPECT_EQ(access(path, F_OK), 0) TH_LOG("%s did not come back", self->bar);
}

/*
 * Removing the ivshmem device under a mapping: the BAR's user revokes and
 * moves its buffers to system memory first; edu is told, its transfers
 * fail with ENODEV; the VKMS device lives on without VRAM, and the
 * buffer's content is intact. The device comes back with a rescan.
 */
TEST_F(pci, unplug_bar)
{
	struct edu_p2p_info before, after;
	struct dumb e = { 0 };
	char path[PATH_MAX];
	uint32_t *p;
	uint64_t i;

	bar_import(_metadata, self, &before);

	snprintf(path, sizeof(path), PCI_DEVS "/%s/remove", self->bar);
	ASSERT_EQ(write_file(path, "1"), 0);

	/* Told at the revocation, and again when the buffer moved. */
	ASSERT_EQ(edu_info(self->edu, &after), 0);
	EXPECT_GE(after.invalidations, before.invalidations + 1);
	EXPECT_EQ(after.kind, (uint32_t)EDU_P2P_UNMAPPED);
	EXPECT_EQ(edu_dma(self->edu, 0, 64, EDU_P2P_DMABUF, EDU_P2P_SCRATCH),
		  -ENODEV);
	EXPECT_EQ(check(self->map, self->d.size, SEED), 0ULL);
	/* The device goes on, in system memory, cleared for a new buffer. */
	ASSERT_EQ(dumb_create(self->gpu, 1024, 1024, &e), 0);
	p = dumb_map(self->gpu, &e);
	ASSERT_NE(p, NULL);
	for (i = 0; i < e.size / 4 && !p[i]; i++)
		;
	EXPECT_EQ(i, e.size / 4)
		TH_LOG("a new buffer holds data at word %llu",
		       (unsigned long long)i);
	munmap(p, e.size);
	gem_close(self->gpu, e.handle);

	bar_back(_metadata, self);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * A pinning importer (edu as RDMA's pinned umem is: no invalidate_mappings,
 * pinned and mapped until it lets go) and the removal of the PCI device
 * behind VRAM. The BAR goes with the device, and such an importer cannot
 * be told to let go of it: the exporter gives it system memory (the buffer
 * moves there when it pins), so removal neither waits for it nor leaves it
 * a mapping of the released BAR, and its mapping stays valid afterwards.
 */
TEST_F(pci, unplug_bar_pinned)
{
	struct edu_p2p_info before, after;
	struct export_info info;
	char path[PATH_MAX];
	const char *line;
	double t0, secs;

	bar_import_flags(_metadata, self, NULL, EDU_P2P_IMPORT_PINNED);
	ASSERT_EQ(edu_info(self->edu, &before), 0);
	EXPECT_EQ(before.pinned, 1U);
	ASSERT_EQ(export_info(GPU, self->fd, &info), 0);
	show("the export while edu has it pinned", &info);
	line = attach_line(&info, "edu_p2p");
	ASSERT_NE(line, NULL) TH_LOG("%s", info.text);
	EXPECT_STREQ(info.placement, "system");
	EXPECT_GT(info.pinned, 0);
	EXPECT_NE(strstr(line, " p2p=no "), NULL) TH_LOG("%s", line);
	EXPECT_NE(strstr(line, " kind=pages "), NULL) TH_LOG("%s", line);
	EXPECT_EQ(before.peer2peer, 0U);
	EXPECT_NE(before.kind, (uint32_t)EDU_P2P_PEER);
	if (!iova(self))
		EXPECT_FALSE(before.first_dma >= self->bar_start &&
			     before.first_dma <= self->bar_end);

	snprintf(path, sizeof(path), PCI_DEVS "/%s/remove", self->bar);
	t0 = now_s();
	ASSERT_EQ(write_file(path, "1"), 0);
	secs = now_s() - t0;
	printf("# %s: removing the device behind VRAM took %.2f s\n",
	       self->expect, secs);
	/* Revoke would wait up to 5 s for a mapping of the BAR: none is left. */
	EXPECT_LT(secs, 4.0);

	/* edu keeps its mapping of the buffer's pages, and it is right. */
	ASSERT_EQ(edu_info(self->edu, &after), 0);
	EXPECT_EQ(after.invalidations, 0U);
	EXPECT_EQ(after.maps, before.maps);
	EXPECT_EQ(after.first_dma, before.first_dma);
	edu_reads_pattern(_metadata, self, offsets[1]);

	bar_back(_metadata, self);
}

/*
 * An importer limited to 64 KiB DMA segments (the PCI default) gets no
 * longer one, whatever the path: bus addresses, an IOVA of the IOMMU (one
 * range of the IOMMU's address space, split at the limit), or pages. What
 * it reads through them is still the buffer.
 */
TEST_F(pci, segment_limit)
{
	uint8_t got[EDU_P2P_BUF_SIZE];
	struct edu_p2p_info info;
	unsigned int i;

	bar_import_flags(_metadata, self, NULL, EDU_P2P_IMPORT_SEG_64K);
	for (i = 0; i < ARRAY_SIZE(offsets); i++)
		edu_reads_pattern(_metadata, self, offsets[i]);
	/*
	 * And what edu writes, the CPU reads back (inside a CPU access of the
	 * dma-buf: where edu's DMA is bounced, the exporter copies it back).
	 */
	for (i = 0; i < sizeof(got); i++)
		got[i] = (uint8_t)(i * 5 + 1);
	ASSERT_EQ(edu_scratch(self->edu, got, sizeof(got), true), 0);
	ASSERT_EQ(edu_dma(self->edu, offsets[1], sizeof(got), EDU_P2P_SCRATCH,
			  EDU_P2P_DMABUF), 0);
	ASSERT_EQ(dmabuf_sync(self->fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ),
		  0);
	EXPECT_EQ(memcmp((uint8_t *)self->map + offsets[1], got, sizeof(got)), 0)
		TH_LOG("the CPU does not see what edu wrote");
	ASSERT_EQ(dmabuf_sync(self->fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ),
		  0);
	swiotlb_used(_metadata);

	ASSERT_EQ(edu_info(self->edu, &info), 0);
	printf("# %s: %s, %u entries, the longest %llu bytes (limit %u)\n",
	       self->expect, kind_name(info.kind), info.nents,
	       (unsigned long long)info.longest, info.max_seg);
	EXPECT_EQ(info.max_seg, 65536U);
	EXPECT_LE(info.longest, 65536ULL);
	EXPECT_GE(info.nents, (uint32_t)(self->d.size / 65536));
	EXPECT_EQ(ioctl(self->edu, EDU_P2P_RELEASE), 0);
}

/*
 * The importer goes away under its mapping (edu's driver unbound): its
 * remove() unmaps and detaches, the exporter is left with no attachment and
 * the buffer where it was; the file still open fails with ENODEV. Bound
 * again, edu imports and reads the buffer as before.
 */
TEST_F(pci, importer_gone)
{
	struct edu_p2p_info before, info;
	struct export_info ei;
	char edu[32];

	bar_import(_metadata, self, &before);
	ASSERT_EQ(bound_device("edu_p2p", edu, sizeof(edu)), 0);
	ASSERT_EQ(export_info(GPU, self->fd, &ei), 0);
	ASSERT_NE(attach_line(&ei, "edu_p2p"), NULL);

	ASSERT_EQ(write_file(PCI_DRVS "/edu_p2p/unbind", edu), 0);
	ASSERT_EQ(export_info(GPU, self->fd, &ei), 0);
	EXPECT_EQ(attach_line(&ei, "edu_p2p"), NULL) TH_LOG("%s", ei.text);
	EXPECT_STREQ(ei.placement, p2p_expected(self->expect) ? "device" :
		     "system");
	EXPECT_EQ(edu_info(self->edu, &info), -ENODEV);
	EXPECT_EQ(edu_import(self->edu, self->fd, 0), -ENODEV);
	close(self->edu);
	self->edu = -1;

	ASSERT_EQ(write_file(PCI_DRVS "/edu_p2p/bind", edu), 0);
	self->edu = open("/dev/edu_p2p", O_RDWR | O_CLOEXEC);
	ASSERT_GE(self->edu, 0);
	ASSERT_EQ(edu_import(self->edu, self->fd, 0), 0);
	edu_reads_pattern(_metadata, self, offsets[1]);
	check_mapping(_metadata, self);
}

/*
 * The race: threads export, import, map, transfer, unmap and release
 * buffers while others fill VRAM and the devices go away under them.
 */
#define RACE_MS		4000	/* of racing before each removal */
#define RACE_AFTER_MS	1000	/* and after it */
/*
 * What edu reads per import, twice: QEMU's edu takes 100 ms (virtual) per
 * DMA, two per read (into its buffer, then out).
 */
#define RACE_READ	256
#define RACE_BUF_W	512	/* 1 MiB buffers for edu and vgem */
#define RACE_BUF_H	512

struct race {
	int gpu, edu, vgem;
	int stop;		/* __atomic */
	/* what went on */
	unsigned int transfers, imports, vgem_imports, pressed;
	unsigned int edu_maps, edu_invalidations;	/* edu's own counts */
	unsigned int edu_remaps;	/* maps after a move invalidated one */
	unsigned int edu_moved;		/* invalidations before removal began */
	/* what must not happen */
	unsigned int bad_bytes, errors;
	int first_error;
	const char *first_what;
	/* what may happen once removal began, and when it first did */
	int removing;		/* __atomic */
	unsigned int gone, early;
	int first_gone;
	const char *first_gone_what;
};

static void race_error(struct race *r, const char *what, int err)
{
	if (!__atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED)) {
		r->first_what = what;
		r->first_error = err;
	}
}

/*
 * The device or the BAR is gone: expected once removal began, counted as
 * an error before.
 */
static bool race_gone(struct race *r, const char *what, int err)
{
	if (err != -ENODEV)
		return false;
	if (!__atomic_fetch_add(&r->gone, 1, __ATOMIC_RELAXED)) {
		r->first_gone_what = what;
		r->first_gone = err;
	}
	if (!__atomic_load_n(&r->removing, __ATOMIC_ACQUIRE))
		__atomic_fetch_add(&r->early, 1, __ATOMIC_RELAXED);
	return true;
}

/* A VRAM buffer filled with @seed, exported; its GEM handle closed. */
static int race_export(struct race *r, uint32_t w, uint32_t h, uint32_t seed)
{
	struct dumb d = { 0 };
	uint32_t *p;
	int fd, err;

	err = dumb_create(r->gpu, w, h, &d);
	if (err)
		return err;
	p = dumb_map(r->gpu, &d);
	if (!p) {
		err = -errno;
		gem_close(r->gpu, d.handle);
		return err;
	}
	fill(p, d.size, seed);
	munmap(p, d.size);
	err = drmPrimeHandleToFD(r->gpu, d.handle, DRM_CLOEXEC | DRM_RDWR, &fd);
	err = err ? -errno : 0;
	gem_close(r->gpu, d.handle);
	return err ?: fd;
}

/* edu imports buffers whose handles are closed and reads them, again and again. */
static void *race_edu(void *data)
{
	uint8_t want[RACE_READ], got[RACE_READ];
	struct edu_p2p_info info;
	struct race *r = data;
	uint32_t seed = 1;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		uint64_t size = RACE_BUF_W * RACE_BUF_H * 4;
		int fd, err, i;

		fd = race_export(r, RACE_BUF_W, RACE_BUF_H, ++seed * 0x9e3779b9U);
		if (fd < 0) {
			if (!race_gone(r, "edu's export", fd))
				race_error(r, "edu's export", fd);
			usleep(10000);
			continue;
		}
		err = edu_import(r->edu, fd, 0);
		if (!err)
			__atomic_fetch_add(&r->imports, 1, __ATOMIC_RELAXED);
		for (i = 0; !err && i < 2; i++) {
			uint64_t off = (uint64_t)rand() % (size - sizeof(got));
			uint32_t w[RACE_READ / 4 + 2], k;

			err = edu_dma(r->edu, off, sizeof(got), EDU_P2P_DMABUF,
				      EDU_P2P_SCRATCH);
			if (!err)
				err = edu_scratch(r->edu, got, sizeof(got), false);
			if (err)
				break;
			__atomic_fetch_add(&r->transfers, 1, __ATOMIC_RELAXED);
			for (k = 0; k < ARRAY_SIZE(w); k++)
				w[k] = seed * 0x9e3779b9U ^
				       (uint32_t)((off / 4 + k) * 2654435761u);
			memcpy(want, (uint8_t *)w + off % 4, sizeof(want));
			if (memcmp(got, want, sizeof(got)))
				__atomic_fetch_add(&r->bad_bytes, 1,
						   __ATOMIC_RELAXED);
			/* Mapped, not locked: the pressure may move it now. */
			usleep(100000);
		}
		if (err && !race_gone(r, "edu's import or transfer", err))
			race_error(r, "edu's import or transfer", err);
		if (!edu_info(r->edu, &info)) {
			r->edu_maps += info.maps;
			r->edu_invalidations += info.invalidations;
			/* Mapped again: told of a move, not a revocation. */
			if (info.maps > 1)
				r->edu_remaps += info.maps - 1;
			/* Done before removal began: every one was a move. */
			if (!__atomic_load_n(&r->removing, __ATOMIC_ACQUIRE))
				r->edu_moved += info.invalidations;
		}
		ioctl(r->edu, EDU_P2P_RELEASE);
		close(fd);
	}
	return NULL;
}

/*
 * Keep RACE_PRESS exported 4 MiB buffers alive, the oldest let go as each
 * new one comes: 16 MiB in all, as much as VRAM, so that every new buffer
 * evicts another; and every RACE_PRESS-th one is as large as VRAM, which
 * evicts every buffer not pinned, edu's among them.
 */
#define RACE_PRESS	4

static void *race_pressure(void *data)
{
	int live[RACE_PRESS] = { -1, -1, -1, -1 };
	struct race *r = data;
	uint32_t seed = 7;
	unsigned int n = 0, i;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		uint32_t h = n % RACE_PRESS == RACE_PRESS - 1 ? 4 * BUF_H : BUF_H;
		int fd = race_export(r, BUF_W, h, ++seed);

		if (fd < 0) {
			if (!race_gone(r, "the pressure's export", fd))
				race_error(r, "the pressure's export", fd);
			usleep(10000);
			continue;
		}
		__atomic_fetch_add(&r->pressed, 1, __ATOMIC_RELAXED);
		if (live[n % RACE_PRESS] >= 0)
			close(live[n % RACE_PRESS]);
		live[n++ % RACE_PRESS] = fd;
	}
	for (i = 0; i < RACE_PRESS; i++)
		if (live[i] >= 0)
			close(live[i]);
	return NULL;
}

/* vgem imports (a static importer: attached, mapped, pinned) and lets go. */
static void *race_vgem(void *data)
{
	struct race *r = data;
	uint32_t seed = 3;

	while (!__atomic_load_n(&r->stop, __ATOMIC_RELAXED)) {
		uint32_t handle;
		int fd, err;

		fd = race_export(r, RACE_BUF_W, RACE_BUF_H, ++seed);
		if (fd < 0) {
			if (!race_gone(r, "vgem's export", fd))
				race_error(r, "vgem's export", fd);
			usleep(10000);
			continue;
		}
		err = drmPrimeFDToHandle(r->vgem, fd, &handle) ? -errno : 0;
		if (!err) {
			__atomic_fetch_add(&r->vgem_imports, 1, __ATOMIC_RELAXED);
			gem_close(r->vgem, handle);
		} else if (!race_gone(r, "vgem's import", err)) {
			race_error(r, "vgem's import", err);
		}
		close(fd);
	}
	return NULL;
}

/*
 * Race for RACE_MS, run @remove, race on for RACE_AFTER_MS, and stop.
 * Returns how often edu was told of a move: maps again after one, and
 * invalidations of imports done before removal began.
 */
static unsigned int race_run(struct __test_metadata *_metadata,
			     struct _test_data_pci *self, const char *what,
			     int (*remove)(struct _test_data_pci *self))
{
	struct race r = { .gpu = self->gpu, .edu = self->edu };
	void *(*fn[])(void *) = { race_edu, race_pressure, race_vgem };
	pthread_t t[ARRAY_SIZE(fn)];
	struct edu_p2p_info info;
	unsigned int i;

	r.vgem = open_driver("vgem", 0);
	ASSERT_GE(r.vgem, 0) TH_LOG("no vgem device");
	for (i = 0; i < ARRAY_SIZE(fn); i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, fn[i], &r), 0);
	usleep(RACE_MS * 1000);
	__atomic_store_n(&r.removing, 1, __ATOMIC_RELEASE);
	EXPECT_EQ(remove(self), 0) TH_LOG("%s failed", what);
	usleep(RACE_AFTER_MS * 1000);
	__atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < ARRAY_SIZE(fn); i++)
		pthread_join(t[i], NULL);
	close(r.vgem);

	printf("# %s, %s: %u edu imports (%u maps, %u invalidations), %u transfers,",
	       self->expect, what, r.imports, r.edu_maps, r.edu_invalidations,
	       r.transfers);
	printf(" %u vgem imports, %u buffers of pressure\n", r.vgem_imports,
	       r.pressed);
	if (r.gone)
		printf("# %u calls found the device gone, the first in %s (%s)\n",
		       r.gone, r.first_gone_what, strerror(-r.first_gone));
	EXPECT_EQ(r.early, 0U) TH_LOG("the device was gone before its removal");
	EXPECT_EQ(r.errors, 0U)
		TH_LOG("%u unexpected errors, the first in %s: %s", r.errors,
		       r.first_what, strerror(-r.first_error));
	EXPECT_EQ(r.bad_bytes, 0U) TH_LOG("edu read wrong bytes");
	EXPECT_GT(r.imports, 1U);
	EXPECT_GT(r.transfers, 2U);
	EXPECT_GT(r.gone, 0U) TH_LOG("nothing found the device gone");
	EXPECT_GT(r.vgem_imports, 0U);
	/* edu let go: nothing of it is mapped any more. */
	ASSERT_EQ(edu_info(self->edu, &info), 0);
	EXPECT_EQ(info.kind, (uint32_t)EDU_P2P_UNMAPPED);
	printf("# %u maps after a move, %u invalidations before removal\n",
	       r.edu_remaps, r.edu_moved);
	return r.edu_remaps + r.edu_moved;
}

static int race_remove_gpu(struct _test_data_pci *self)
{
	return gpu_attr("enabled", "0");
}

static int race_remove_bar(struct _test_data_pci *self)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), PCI_DEVS "/%s/remove", self->bar);
	return write_file(path, "1");
}

/*
 * Device removal and eviction race export, import, map, transfer, unmap
 * and release: edu imports buffers whose GEM handles are closed and checks
 * every byte it reads, vgem imports and lets go, 4 MiB buffers keep VRAM
 * full; then the VKMS device is removed under them (revoke), and in a
 * second round the ivshmem device behind VRAM. Bounded in time; every
 * error but ENODEV once removal began fails it, and so does any wrong
 * byte, any mapping left, and (in the run's report) any splat or leak.
 */
TEST_F(pci, race)
{
	char path[PATH_MAX];
	unsigned int told;

	told = race_run(_metadata, self, "removing the VKMS device",
			race_remove_gpu);
	close(self->gpu);
	self->gpu = -1;
	vkms_remove(GPU);
	snprintf(path, sizeof(path), P2P_DEBUGFS "/%s", GPU);
	EXPECT_NE(access(path, F_OK), 0)
		TH_LOG("the exporter's debugfs of a removed device is still there");

	ASSERT_EQ(vkms_make(GPU), 0);
	ASSERT_EQ(gpu_attr("vram_size", VRAM_SIZE), 0);
	ASSERT_EQ(gpu_attr("vram_pci", self->bar), 0);
	ASSERT_EQ(gpu_attr("enabled", "1"), 0);
	self->gpu = open_vkms(GPU);
	ASSERT_GE(self->gpu, 0);
	told += race_run(_metadata, self, "removing the ivshmem device",
			 race_remove_bar);
	/*
	 * Where edu maps VRAM, the pressure moved buffers under it: it mapped
	 * them again (a revocation is never followed by a map), or was told
	 * before any removal began.
	 */
	if (p2p_expected(self->expect))
		EXPECT_GT(told, 0U) TH_LOG("no move ever reached edu's mapping");
	bar_back(_metadata, self);
}

/* The type file of the IOMMU group of PCI device @dev. */
static int group_type_path(const char *dev, char *path, size_t len)
{
	char link[PATH_MAX], p[PATH_MAX];
	const char *group;
	ssize_t n;

	snprintf(p, sizeof(p), PCI_DEVS "/%s/iommu_group", dev);
	n = readlink(p, link, sizeof(link) - 1);
	if (n < 0)
		return -errno;
	link[n] = '\0';
	group = strrchr(link, '/');
	group = group ? group + 1 : link;
	if (strlen(group) > 16)
		return -ENAMETOOLONG;
	snprintf(path, len, "/sys/kernel/iommu_groups/%.16s/type", group);
	return 0;
}

/*
 * Give edu's IOMMU group the domain @type ("identity", or the type it had),
 * edu_p2p unbound while it changes: the group must have no driver.
 */
static int edu_domain(struct _test_data_pci *self, const char *type)
{
	char path[PATH_MAX], bound[PATH_MAX];
	int err;

	err = group_type_path(self->edu_dev, path, sizeof(path));
	if (err)
		return err;
	if (self->edu >= 0)
		close(self->edu);
	self->edu = -1;
	/* Bound, unless an earlier attempt failed half-way. */
	snprintf(bound, sizeof(bound), PCI_DRVS "/edu_p2p/%s", self->edu_dev);
	if (!access(bound, F_OK) &&
	    write_file(PCI_DRVS "/edu_p2p/unbind", self->edu_dev))
		return -EIO;
	err = write_file(path, type);
	if (write_file(PCI_DRVS "/edu_p2p/bind", self->edu_dev))
		return -EIO;
	self->edu = open("/dev/edu_p2p", O_RDWR | O_CLOEXEC);
	if (self->edu < 0)
		return -errno;
	return err ? -EIO : 0;
}

/*
 * An importer behind an IOMMU whose domain is identity (iommu=pt, or its
 * group's type set so) is not translated: its DMA mask bounds what it
 * reaches as it would with no IOMMU at all. edu with a 31-bit mask cannot
 * reach the BAR in the PCI hole: the buffer moves to system memory, below
 * the mask, and edu reads the right bytes there. The teardown gives edu's
 * group its type back.
 */
TEST_F(pci, identity_domain)
{
	char path[PATH_MAX], type[32] = "";
	struct edu_p2p_info info;
	struct export_info ei;
	unsigned int i;

	if (!iova(self))
		SKIP(return, "edu is not behind an IOMMU in this topology");
	ASSERT_GT(self->bar_start, (1ULL << 31) - 1)
		TH_LOG("the BAR is within a 31-bit mask");
	ASSERT_EQ(bound_device("edu_p2p", self->edu_dev,
			       sizeof(self->edu_dev)), 0);
	ASSERT_EQ(group_type_path(self->edu_dev, path, sizeof(path)), 0);
	ASSERT_EQ(read_file(path, type, sizeof(type)), 0);
	type[strcspn(type, "\n")] = '\0';
	/* From here on the teardown gives the group its type back. */
	memcpy(self->edu_type, type, sizeof(type));
	ASSERT_EQ(edu_domain(self, "identity"), 0);
	printf("# edu's IOMMU group: %s, now identity\n", type);

	bar_import_flags(_metadata, self, NULL, EDU_P2P_IMPORT_DMA31);
	for (i = 0; i < ARRAY_SIZE(offsets); i++)
		edu_reads_pattern(_metadata, self, offsets[i]);
	ASSERT_EQ(edu_info(self->edu, &info), 0);
	printf("# identity domain, 31-bit mask: edu got %s at %#llx\n",
	       kind_name(info.kind), (unsigned long long)info.first_dma);
	EXPECT_EQ(info.kind, (uint32_t)EDU_P2P_PAGES);
	EXPECT_LT(info.first_dma, 1ULL << 31);
	ASSERT_EQ(export_info(GPU, self->fd, &ei), 0);
	EXPECT_STREQ(ei.placement, "system");
	EXPECT_GE(ei.migrations, 1U);
	EXPECT_EQ(ioctl(self->edu, EDU_P2P_RELEASE), 0);
}

TEST_HARNESS_MAIN
