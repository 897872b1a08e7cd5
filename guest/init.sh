#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The test run inside the guest, started by /sbin/p2p-init from the run share
# (/p2p). It reads /p2p/plan, writes everything to /p2p/out and powers off.
# Lines starting with "== " are progress the host prints.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
P=/p2p
OUT=$P/out
PHASES="kunit igt tests"
IGT_LIST=$P/igt.list
# shellcheck source=/dev/null
[ -f $P/plan ] && . $P/plan

say() { echo "== $*"; }

mount -t debugfs debugfs /sys/kernel/debug
mount -t configfs configfs /sys/kernel/config
mount --bind $P/modules /usr/lib/modules
mkdir -p $OUT
: > $P/up	# what the host's boot watchdog waits for
say "guest up: $(uname -r), $(nproc) cpus, phases: $PHASES${VRAM_SIZE:+, VKMS VRAM $VRAM_SIZE (p2p: $P2P_POLICY)}"

# Two VKMS devices model two GPUs: the default one and "second", made through
# configfs like any other instance.
vkms_second() {
	c=/sys/kernel/config/vkms/second
	[ -d /sys/kernel/config/vkms ] || { say "vkms: no configfs"; return 1; }
	mkdir $c $c/planes/plane0 $c/crtcs/crtc0 $c/encoders/encoder0 \
	      $c/connectors/connector0 || return 1
	echo 1 > $c/planes/plane0/type
	if [ -n "$VRAM_SIZE" ]; then
		echo "$VRAM_SIZE" > $c/vram_size || return 1
		echo "$P2P_POLICY" > $c/p2p_policy || return 1
	fi
	ln -s $c/crtcs/crtc0 $c/planes/plane0/possible_crtcs/
	ln -s $c/crtcs/crtc0 $c/encoders/encoder0/possible_crtcs/
	ln -s $c/encoders/encoder0 $c/connectors/connector0/possible_encoders/
	echo 1 > $c/enabled
}

for phase in $PHASES; do
	case $phase in
	kunit)
		mkdir -p $OUT/kunit
		n=0
		for d in /sys/kernel/debug/kunit/*/; do
			[ -f "$d/results" ] || continue
			cp "$d/results" "$OUT/kunit/$(basename "$d").ktap"
			n=$((n + 1))
		done
		# The cases' results are in the kernel log only.
		dmesg > $OUT/kunit.log
		say "kunit: $n suites ran"
		;;
	igt)
		vkms_second && say "vkms: second device enabled" ||
			say "vkms: second device could not be made"
		ls -l /dev/dri/ > $OUT/dri.txt 2>&1
		for c in /sys/class/drm/card*; do
			[ -e $c/device/driver ] &&
				echo "$(basename $c) $(basename "$(readlink $c/device/driver)")"
		done > $OUT/cards.txt
		say "igt: $(wc -l < $IGT_LIST) entries, cards: $(tr '\n' ' ' < $OUT/cards.txt)"
		# IGT 2.5's is_intel_dgfx() asserts on VKMS, which keeps
		# kms_prime's CRC subtests from running: tests/igt-preload.
		pre=$P/tests/preload/libnot-intel-dgfx.so
		[ -f $pre ] || { say "igt: no $pre"; pre=; }
		LD_PRELOAD=$pre HOME=/tmp IGT_FORCE_DRIVER=vkms igt_runner -o --per-test-timeout 300 \
			--test-list $IGT_LIST /usr/libexec/igt-gpu-tools \
			/tmp/igt > $OUT/igt_runner.log 2>&1
		rc=$?
		# The runner syncs its journal after every test: keep it off 9p.
		cp -r /tmp/igt $OUT/igt
		say "igt: runner exited $rc"
		;;
	tests|pci)
		# pci_* need a PCI topology (run-guest --topology): phase pci.
		mkdir -p $OUT/tests
		if [ $phase = pci ]; then
			for m in $P/tests/kmod/*.ko; do
				insmod "$m" || say "insmod $(basename "$m") failed"
			done
			say "pci: topology $TOPOLOGY, expect $TOPOLOGY_EXPECT: $(ls /sys/bus/pci/drivers/vkms-vram 2>/dev/null | grep -c :) ivshmem, $(ls /dev/edu_p2p 2>/dev/null | wc -l) edu"
		fi
		for t in $P/tests/*; do
			[ -x "$t" ] && [ -f "$t" ] || continue
			name=$(basename "$t")
			case $name in
			pci_*) [ $phase = pci ] || continue ;;
			*) [ $phase = tests ] || continue ;;
			esac
			say "test: $name"
			# Real clients start slowly under TCG (llvmpipe).
			limit=300
			[ "$name" != clients ] || limit=900
			(cd /tmp && TOPOLOGY_EXPECT=$TOPOLOGY_EXPECT timeout $limit "$t") \
				> $OUT/tests/$name.tap 2>&1
			echo $? > $OUT/tests/$name.rc
		done
		;;
	demo)
		vkms_second >/dev/null 2>&1
		{
			echo "DRM devices in the guest:"
			for c in /sys/class/drm/card[0-9]; do
				drv=$(basename "$(readlink $c/device/driver)")
				echo "  /dev/dri/$(basename $c): $drv ($(readlink -f $c/device))"
			done
			dmesg | sed -n 's/^\[[ .0-9]*\] faux_driver \([^:]*\): \[drm\] \(.* MiB of VRAM.*\)/  \1: \2/p'
			rc=0
			for t in vram_prime vram_v4l2 clients; do
				args=
				case $t in
				vram_prime) echo "sharing a buffer in VKMS VRAM with vgem and a second VKMS device," ;;
				vram_v4l2) echo "V4L2 (vivid, dma-contig) capturing into VKMS VRAM," ;;
				clients)
					echo "GStreamer: v4l2src io-mode=dmabuf-import ! kmssink, vivid capturing into"
					echo "kmssink's buffers in VKMS VRAM (policy all: peer-to-peer; none: moved once"
					echo "to contiguous system memory),"
					args="-r gst.all_640x480.capture_to_kmssink -r gst.none_640x480.capture_to_kmssink" ;;
				esac
				echo "as the P2P exporter's debugfs view of the export shows it:"
				if [ -x $P/tests/$t ]; then
					# shellcheck disable=SC2086
					P2P_SHOW=1 $P/tests/$t $args > /tmp/demo-$t.tap 2>&1 || rc=1
				else
					echo "  $t: not built"; rc=1
				fi
				sed -n -e 's/^# \(.*:\)$/  \1/p' -e 's/^# | /    /p' \
					-e 's/^\(not \)\{0,1\}ok [0-9]* /  &/p' /tmp/demo-$t.tap
			done
			[ $rc -eq 0 ] && echo "demo: pass" || echo "demo: FAIL"
		} > $OUT/demo.txt 2>&1
		;;
	sh)
		say "interactive shell; exit to power off"
		setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'
		;;
	esac
done

if [ -w /sys/kernel/debug/kmemleak ]; then
	# Two scans: an object is reported only once it stays unreferenced.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 1
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > $OUT/kmemleak.txt
	say "kmemleak: $(grep -c '^unreferenced object' $OUT/kmemleak.txt) unreferenced objects"
fi
dmesg > $OUT/dmesg.txt
echo done > $OUT/status
say "guest done"
sync
busybox poweroff -f
