# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# qemu_state.sh — device models of the inner guest, and guests saved once
# and restored many times.  Sourced by lib/qemu.sh (needs its qi_* helpers).
#
# Booting the inner guest under two layers of TCG (host -> lab VM -> inner
# QEMU) takes minutes; under one layer, on the host, it takes seconds.  So
# `make check` boots one inner guest per device model on the host
# (selftests/vm/inner/mkstate.sh, the same stock QEMU and kernel) and saves
# it with a migration to a file; inside the lab VM a test starts stock QEMU
# with -incoming from that file and the real backend (tap vhost=on served by
# the module under test, or the vhost-user-blk bridge):
#
#   host (mkstate.sh)                         lab VM (qi_up)
#   QEMU <model>, NIC on a tap vhost=off      QEMU <model>, NIC on vhxtap0 vhost=on
#   guest boots, VHXI_PREP=1: all modules     -incoming exec:cat STATE
#   but virtio_net/virtio_blk loaded, the  -> guest resumes, the agent answers
#   devices present and unclaimed             load_net: virtio_net probes the
#   migrate "exec:cat > STATE"                device: features negotiated with
#                                             vhx, rings set up, DRIVER_OK
#
# Nothing of vhost runs before the restore: the driver binds to the device
# afterwards, so feature negotiation, ring set-up and the vhost worker are
# those of a fresh boot, against the module under test.  A block disk is
# hot-plugged (chardev-add + device_add into the model's PCIe root port)
# after the restore, as libvirt's attach-device does.
#
# A state's name carries a hash of everything it depends on (QEMU binary,
# kernel, initramfs, machine, devices, kernel command line): a stale state
# is never restored.  Without a state (e.g. mkstate.sh not run) qi_up boots.

# qi_model NAME: the knobs of device model NAME (the one definition used by
# the tests and by mkstate.sh).  Tests may still override single knobs
# after it (the QI_IOMMU_* ones of qemu_iommu_test.sh).
#   sq      one queue pair (qemu_basic, death, migrate, reload, demo)
#   mq      two queue pairs, a multi-queue tap (qemu_mq)
#   packed  packed virtqueues (qemu_packed)
#   iommu   intel-iommu with device IOTLB, interrupt remapping (qemu_iommu)
#   blk     no NIC; 2 vCPUs, shared guest RAM (vhost-user), a root port for
#           the vhost-user-blk disk (qemu_blk*)
#   vsock   no NIC; a root port for a vhost-vsock-pci hot-plugged after the
#           restore (the host that saves the state needs no /dev/vhost-vsock;
#           split or packed=on is the hot-plug's choice); the guest's vsock
#           modules loaded (qemu_vsock, lib/vsock.sh)
# shellcheck disable=SC2034  # read by mkstate.sh
QI_MODELS="sq mq packed iommu blk vsock"
qi_model() {
	QI_MODEL=$1
	QI_MACHINE=q35 QI_SMP=1 QI_PRE_DEVS='' QI_DEV_OPTS='' QI_NETDEV_OPTS='' QI_APPEND='' QI_TAP_OPTS=''
	case $1 in
	sq) ;;
	mq)
		QI_NETDEV_OPTS=",queues=2"
		QI_DEV_OPTS=",mq=on,vectors=6"
		QI_TAP_OPTS=multi_queue
		;;
	packed) QI_DEV_OPTS=",packed=on" ;;
	iommu)
		QI_MACHINE=${QI_IOMMU_MACHINE:-q35,kernel-irqchip=split}
		QI_PRE_DEVS="-device ${QI_IOMMU_DEV:-intel-iommu,intremap=on,device-iotlb=on}"
		QI_DEV_OPTS=",iommu_platform=on,ats=on,disable-legacy=on"
		QI_APPEND=${QI_IOMMU_APPEND:-intel_iommu=on iommu.strict=1}
		;;
	blk)
		QI_SMP=2
		QI_MACHINE="q35,memory-backend=mem"
		QI_PRE_DEVS="-object memory-backend-memfd,id=mem,size=$QI_MEM,share=on"
		QI_PRE_DEVS+=" -device pcie-root-port,id=rp1,chassis=1,slot=1"
		;;
	vsock)
		QI_PRE_DEVS="-device pcie-root-port,id=rp1,chassis=1,slot=1"
		QI_APPEND="VHXI_VSOCK=1"
		;;
	*) qi_log "unknown model '$1'"; return 1 ;;
	esac
}

# qi_model_tap MODEL: the tap a model's NIC uses ("-": none).
qi_model_tap() { case $1 in blk | vsock) echo - ;; *) echo "${2:-vhxtap0}" ;; esac; }

# qi_sig TAP: everything the guest's saved state depends on, one line.
QI_QEMU_ID=
qi_sig() {
	local tap=$1 nic=none
	if [ -z "$QI_QEMU_ID" ]; then
		QI_QEMU_ID="$("$QI_QEMU" --version | head -n1) $(stat -L -c %s "$(command -v "$QI_QEMU")")"
	fi
	[ "$tap" = - ] || nic="tap${QI_NETDEV_OPTS:-} virtio-net-pci,mac=$QI_MAC${QI_DEV_OPTS:-}"
	echo "$QI_QEMU_ID|${QI_MACHINE:-q35}|$QI_MEM|${QI_SMP:-1}|$(basename "$QI_KERNEL")|$(basename "$QI_INITRD")|$(QI_PREP=1 qi_append "$tap")|${QI_PRE_DEVS:-}|$nic"
}

# qi_state_name TAP: the file name of the current model's saved state.
qi_state_name() {
	echo "state-${QI_MODEL:-custom}-$(qi_sig "$1" | sha256sum | cut -c1-12)"
}

# Where states are: written by mkstate.sh on the host (the lab VM sees the
# repository read-only), or by an earlier test of this lab-VM boot.
qi_state_dirs() {
	echo "${VHX_STATE_DIR:-$QI_ROOT/selftests/vm/out/states}"
	echo "$QI_CACHE/states"
}

# qi_state_file TAP: path of a saved state for the current knobs, or nothing.
qi_state_file() {
	local n d
	[ "${QI_NO_STATE:-0}" = 1 ] && return 0
	[ "${QI_ACCEL:-tcg}" = tcg ] || return 0	# states are TCG guests
	n=$(qi_state_name "$1")
	while read -r d; do
		[ -s "$d/$n" ] && { echo "$d/$n"; return 0; }
	done < <(qi_state_dirs)
	return 0
}

# qi_save_state ID TAP DIR: save the prepared guest ID (QI_PREP=1, agent
# ready) of the current model into DIR; the file appears atomically.
qi_save_state() {
	local id=$1 tap=$2 dir=$3 n tmp
	n=$(qi_state_name "$tap")
	mkdir -p "$dir" || return 1
	tmp=$dir/.$n.$$
	qi_migrate "$id" "exec:cat>$tmp" 300 || { rm -f "$tmp"; return 1; }
	mv -f "$tmp" "$dir/$n"
	# keep the 3 newest states of a model (other kernels, QEMU builds, knobs)
	find "$dir" -maxdepth 1 -name "state-${QI_MODEL:-custom}-*" -printf '%T@ %p\n' 2>/dev/null |
		sort -rn | tail -n +4 | cut -d' ' -f2- | xargs -r rm -f
	qi_log "saved state $dir/$n ($(du -h "$dir/$n" | cut -f1))"
}

# qi_up ID TAP [QEMU ARGS...]: an inner guest of the current model, ready for
# the test: its agent answers and (with a NIC) eth0 is up with virtio_net
# bound to the device.  Restores the model's saved state when there is one
# (seconds), else boots (minutes).  Sets QI_UP_HOW (restored|booted) and
# QI_UP_SECS.
QI_UP_HOW=
QI_UP_SECS=
qi_up() {
	local id=$1 tap=$2 st t0=$SECONDS
	shift 2
	[ -n "$QI_INITRD" ] || qi_build || return 1
	st=$(qi_state_file "$tap")
	if [ -z "$st" ]; then
		qi_log "no saved state $(qi_state_name "$tap") (selftests/vm/inner/mkstate.sh): booting"
		qi_start "$id" "$tap" "$@" && qi_wait_ready "$id" || return 1
		QI_UP_HOW=booted
	else
		QI_PREP=1 qi_start "$id" "$tap" -incoming "exec:cat $st" "$@" || return 1
		qi_wait_running "$id" 120 || { qi_tail_logs "$id"; return 1; }
		qi_ping_agent "$id" 60 || { qi_log "restored guest '$id' does not answer"; qi_tail_logs "$id"; return 1; }
		if [ "$tap" != - ]; then
			# the loglevel a boot would have had (the saved guest's is 4)
			qi_cmd "$id" 180 "dmesg -n ${QI_LOGLEVEL:-4}; load_net && ip -o -4 addr show eth0" > /dev/null ||
				{ qi_log "virtio_net did not come up in the restored guest"; qi_tail_logs "$id"; return 1; }
		fi
		QI_UP_HOW=restored
	fi
	QI_UP_SECS=$((SECONDS - t0))
	qi_log "inner guest '$id' up ($QI_UP_HOW, model ${QI_MODEL:-custom}) in ${QI_UP_SECS}s"
}
