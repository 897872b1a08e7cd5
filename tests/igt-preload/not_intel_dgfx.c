// SPDX-License-Identifier: MIT
/*
 * A workaround for an IGT 2.5 bug, preloaded (LD_PRELOAD) into the stock
 * IGT runs of the test guest only.
 *
 * kms_prime's prepare_scratch() asks is_intel_dgfx() of every exporter that
 * is not vgem, and is_intel_dgfx() asserts ("Device is not handled by Intel
 * driver") on any device that is not i915 or xe: basic-crc-vgem and
 * basic-crc-hybrid cannot run on VKMS. This answers false for a device of
 * any other driver, which is what the function means (a discrete Intel
 * GPU), and leaves Intel devices to IGT's own is_intel_dgfx(), found past
 * this library.
 *
 * Copyright 2026 The drm-p2p authors
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdbool.h>
#include <string.h>
#include <xf86drm.h>

bool is_intel_dgfx(int fd);

bool is_intel_dgfx(int fd)
{
	static bool (*igt_is_intel_dgfx)(int fd);
	drmVersionPtr v = drmGetVersion(fd);
	bool intel = v && (!strcmp(v->name, "i915") || !strcmp(v->name, "xe"));

	drmFreeVersion(v);
	if (!intel)
		return false;
	if (!igt_is_intel_dgfx)
		igt_is_intel_dgfx = (bool (*)(int))dlsym(RTLD_NEXT,
							 "is_intel_dgfx");
	return igt_is_intel_dgfx && igt_is_intel_dgfx(fd);
}
