# SPDX-License-Identifier: GPL-2.0
# Common settings for the project's scripts; sourced, not run.

set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${DRM_P2P_CACHE:-$HOME/.cache/drm-p2p}
SHARED=${DRM_P2P_SHARED:-$REPO/../shared}

# The pinned base: Debian's linux-source-7.3 7.3.4-1~bpo13+1 (trixie-backports).
BASE_PKG=linux-source-7.3
BASE_VER=7.3.4-1~bpo13+1
BASE_DEB=${BASE_PKG}_${BASE_VER}_all.deb
BASE_SHA256=703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3
BASE_SUITE=trixie-backports

# The assembled kernel git work tree (scripts/compile-drivers points a
# build at the base with DRM_P2P_TREE).
TREE=${DRM_P2P_TREE:-$CACHE/linux}
BUILD=$CACHE/build			# kernel build trees (O=)
ROOTFS=$CACHE/rootfs			# guest root filesystem
RESULTS=${DRM_P2P_RESULTS:-$CACHE/results}
export CCACHE_DIR=${CCACHE_DIR:-$CACHE/ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-10G}

# Top-level kernel directories the overlay may add files to.
OVERLAY_DIRS="arch drivers include Documentation kernel lib mm tools"

JOBS=$(( $(nproc) + 1 ))

log() { printf '[%s] %s: %s\n' "$(date +%H:%M:%S)" "${0##*/}" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the epoch, for timing long steps.
now() { date +%s; }
