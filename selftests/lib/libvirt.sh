# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# shellcheck disable=SC2034  # QI_* tables are read by lib/qemu.sh
# libvirt.sh — a private libvirtd in the lab VM, and inner guests started by
# it.  Sourced after lib/qemu.sh by selftests/qemu/libvirt_test.sh; the
# guests it starts are qi_* instances (qi_cmd, qi_wait_ready, qi_xfer_* work
# on them as on a guest of qi_start).
#
#   lab VM
#   └─ unshare -m: /var/{lib,log,cache}/libvirt and /etc/libvirt bound to
#      $QI_WORK/libvirt/ (a copy of the host's /etc/libvirt, LV_QEMU_CONF
#      appended)
#      └─ libvirtd (Debian 12's, qemu:///system on /run/libvirt, a tmpfs)
#         └─ QEMU as libvirt-qemu, started from domain XML; libvirtd
#            opens /dev/vhost-net and the taps and passes them
#
# Nothing of the lab VM's root changes: the mounts live in libvirtd's own
# mount namespace and end with it (its files are read in $QI_WORK/libvirt).
# The one exception is /dev/kvm, see lv_daemon_start.

LV_URI=qemu:///system
LV_PID=
LV_DIR=
# Enough for a host whose files are not libvirt's: no virtlogd (serial
# and QEMU logs are plain files), no cgroups, no security driver labelling
# files it does not own.  QEMU still runs unprivileged, as on a real host.
LV_QEMU_CONF='user = "libvirt-qemu"
group = "kvm"
dynamic_ownership = 0
security_driver = "none"
stdio_handler = "file"
cgroup_controllers = [ ]'

lv_virsh() { virsh -q -c "$LV_URI" "$@"; }

# lv_prereq: why libvirt cannot run (empty: fine).
lv_prereq() {
	command -v libvirtd > /dev/null || { echo "libvirt not installed (libvirt-daemon-system)"; return; }
	command -v virsh > /dev/null || { echo "no virsh (libvirt-clients)"; return; }
	getent passwd libvirt-qemu > /dev/null || { echo "no libvirt-qemu user"; return; }
}

# lv_daemon_run DIR: start DIR/daemon.sh (a libvirtd) in a mount namespace
# of its own, logging to DIR/libvirtd.log; sets LV_RUN_PID.
LV_RUN_PID=
lv_daemon_run() {
	unshare -m --propagation private bash "$1/daemon.sh" >> "$1/libvirtd.log" 2>&1 &
	LV_RUN_PID=$!
	QI_BG+=("$LV_RUN_PID")
}

# lv_answers PID URI DIR: wait until the libvirtd PID answers on URI,
# within 60 s (its version in DIR/version).
lv_answers() {
	local i
	for i in $(seq 1 300); do
		virsh -q -c "$2" version > "$3/version" 2>&1 && return 0
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	qi_log "libvirtd did not answer after $((i / 5))s:"
	tail -n 15 "$3/libvirtd.log" | sed 's/^/#   libvirtd| /'
	return 1
}

# lv_daemon_up: start libvirtd; up and answering within 60 s.
lv_daemon_up() {
	lv_daemon_run "$LV_DIR"
	LV_PID=$LV_RUN_PID
	lv_answers "$LV_PID" "$LV_URI" "$LV_DIR"
}

# libvirt opens /dev/vhost-net only for domains of type 'kvm'
# (qemuInterfaceOpenVhostNet: a 'qemu' domain gets a userspace NIC), and
# the lab VM runs under TCG, with no KVM to nest.  So libvirt is shown a
# KVM host: its capability cache of the emulator gets KVM beside TCG (the
# same machines and CPU models), /dev/kvm exists (a /dev/null node, only
# for libvirt's access check), and the emulator it starts is a wrapper
# that runs the domain's QEMU with -accel tcg instead of -accel kvm.
# Everything else -- the taps, the vhost-net fds, their hand-over to QEMU,
# hot-plug -- is libvirt's own code on a KVM host.  LV_KVM=real skips all
# this (the lab VM has working nested KVM).
LV_KVM=
LV_EMU=
LV_MADE_KVM=
lv_kvm_cache() {	# FILE: add a KVM copy of every TCG entry
	local mc sig
	# what libvirt records of a KVM host and checks on each load: the
	# kernel, the CPU's microcode and signature
	mc=$(awk '/^microcode/ { print $3; exit }' /proc/cpuinfo)
	sig=$(awk -F': ' '
		$1 ~ /^vendor_id/ { v = $2 } $1 ~ /^model name/ { n = $2 }
		$1 ~ /^cpu family/ { f = $2 } $1 ~ /^model\t/ { m = $2 } $1 ~ /^stepping/ { s = $2 }
		/^$/ { exit }
		END { printf "%s, %s, family: %s, model: %s, stepping: %s", v, n, f, m, s }' /proc/cpuinfo)
	awk -v kv="$(uname -r) $(uname -v)" -v mc=$((${mc:-0})) -v sig="$sig" -v q="'" '
		/^  <microcodeVersion>/ {
			print "  <microcodeVersion>" mc "</microcodeVersion>"
			print "  <hostCPUSignature>" sig "</hostCPUSignature>"
			print "  <kernelVersion>" kv "</kernelVersion>"
			next
		}
		/^  <(hostCPU|cpu|machine) type=.tcg./ { grab = 1; b = "" }
		grab { t = $0; if (b == "") sub(/type=.tcg./, "type=" q "kvm" q, t); b = b t "\n" }
		grab && (/\/>$/ && b ~ /^[^\n]*\n$/ || /^  <\/(hostCPU|cpu)>/) { kvm = kvm b; grab = 0 }
		/^<\/qemuCaps>/ { printf "  <flag name=%skvm%s/>\n%s", q, q, kvm }
		{ print }' "$1" > "$1.new" && mv "$1.new" "$1"
}

# lv_daemon_start: the private libvirtd, ready for 'kvm' domains.
lv_daemon_start() {
	local d f
	LV_DIR=$QI_WORK/libvirt
	mkdir -p "$LV_DIR"
	chmod 755 "$QI_WORK" "$LV_DIR"
	cp -a /etc/libvirt "$LV_DIR/etc"
	printf '%s\n' "$LV_QEMU_CONF" >> "$LV_DIR/etc/qemu.conf"
	# in its log, why libvirt would throw a capability cache away
	# ("Outdated capabilities ...": lv_kvm_cache must follow it)
	printf 'log_filters="1:qemu.qemu_capabilities"\nlog_outputs="1:stderr"\n' >> "$LV_DIR/etc/libvirtd.conf"
	for d in lib log cache; do mkdir -p "$LV_DIR/$d/qemu"; done
	cat > "$LV_DIR/daemon.sh" <<-EOF
		set -e
		for d in lib log cache; do mount --bind "$LV_DIR/\$d" "/var/\$d/libvirt"; done
		mount --bind "$LV_DIR/etc" /etc/libvirt
		exec libvirtd
	EOF
	LV_EMU=$(command -v "$QI_QEMU")
	if [ "$QI_ACCEL" = kvm ]; then
		LV_KVM=real
		lv_daemon_up || return 1
	else
		LV_KVM=tcg
		LV_EMU=$LV_DIR/qemu-kvm-on-tcg
		cat > "$LV_EMU" <<-EOF
			#!/bin/bash
			# libvirt's 'kvm' domain under TCG (selftests/lib/libvirt.sh)
			a=() p=
			for x in "\$@"; do
				[ "\$p" = -accel ] && [ "\${x%%,*}" = kvm ] && x=tcg
				a+=("\$x") p=\$x
			done
			exec $(command -v "$QI_QEMU") "\${a[@]}"
		EOF
		chmod 755 "$LV_EMU"
		# 1. probe the wrapper as a TCG emulator (no /dev/kvm yet)
		lv_daemon_up || return 1
		lv_virsh domcapabilities --emulatorbin "$LV_EMU" --virttype qemu > /dev/null ||
			{ qi_log "libvirt cannot probe $LV_EMU"; return 1; }
		lv_daemon_stop
		f=$(grep -l "<emulator>$LV_EMU</emulator>" "$LV_DIR"/cache/qemu/capabilities/*.xml)
		[ -n "$f" ] || { qi_log "no capability cache of $LV_EMU"; return 1; }
		# 2. the same capabilities with KVM, and a /dev/kvm to find
		lv_kvm_cache "$f"
		if [ ! -e /dev/kvm ]; then
			mknod -m 666 /dev/kvm c 1 3 && LV_MADE_KVM=1
		fi
		lv_daemon_up || return 1
		lv_virsh domcapabilities --emulatorbin "$LV_EMU" --virttype kvm > /dev/null ||
			{ qi_log "libvirt does not take the KVM capabilities:"; grep -i -E "outdated|invalid|error" "$LV_DIR/libvirtd.log" | tail -n 20 | sed 's/^/#   libvirtd| /'; return 1; }
	fi
	qi_log "libvirtd pid $LV_PID: $(grep -E 'library|hypervisor' "$LV_DIR/version" | tr -s ' ' | paste -sd';'), KVM: $LV_KVM"
}

# lv_kill PID: TERM, then KILL after 10 s.
lv_kill() {
	[ -n "$1" ] || return 0
	kill -TERM "$1" 2>/dev/null
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

lv_daemon_stop() { lv_kill "$LV_PID"; LV_PID=; }

# lv_peer_start: a second libvirtd on the same lab VM, the destination of
# `virsh migrate` (LV2_URI).  Its own /etc/libvirt (a copy of the first's),
# /var/{lib,log,cache}/libvirt and /run/libvirt, so the two share nothing
# but the network namespace, the taps and bridges in it, and /dev; another
# host UUID (libvirt will not migrate a domain to the host it runs on); the
# first daemon's capability cache of LV_EMU (with its KVM entries: no
# second probe).  Its QEMUs' pid files are in $LV2_DIR/run/qemu.
LV2_DIR='' LV2_PID='' LV2_URI=''
lv_peer_start() {
	local d
	LV2_DIR=$QI_WORK/libvirt2
	rm -rf "$LV2_DIR"
	mkdir -p "$LV2_DIR"
	chmod 755 "$LV2_DIR"
	cp -a "$LV_DIR/etc" "$LV2_DIR/etc"
	printf 'host_uuid = "%s"\n' "$(cat /proc/sys/kernel/random/uuid)" >> "$LV2_DIR/etc/libvirtd.conf"
	for d in lib log cache run; do mkdir -p "$LV2_DIR/$d/qemu"; done
	cp -a "$LV_DIR/cache/qemu/capabilities" "$LV2_DIR/cache/qemu/"
	cat > "$LV2_DIR/daemon.sh" <<-EOF
		set -e
		for d in lib log cache; do mount --bind "$LV2_DIR/\$d" "/var/\$d/libvirt"; done
		mount --bind "$LV2_DIR/etc" /etc/libvirt
		mount --bind "$LV2_DIR/run" /run/libvirt
		exec libvirtd --pid-file "$LV2_DIR/libvirtd.pid"
	EOF
	LV2_URI="qemu:///system?socket=$LV2_DIR/run/libvirt-sock"
	lv_daemon_run "$LV2_DIR"
	LV2_PID=$LV_RUN_PID
	lv_answers "$LV2_PID" "$LV2_URI" "$LV2_DIR" || return 1
	qi_log "second libvirtd pid $LV2_PID on $LV2_URI"
}

# lv_images: the inner kernel and initramfs where QEMU (libvirt-qemu) can
# read them: the repository may sit in a directory only root may enter.
LV_KERNEL='' LV_INITRD=''
lv_images() {
	[ -n "$QI_INITRD" ] || qi_build || return 1
	LV_KERNEL=$LV_DIR/$(basename "$QI_KERNEL")
	LV_INITRD=$LV_DIR/$(basename "$QI_INITRD")
	cp "$QI_KERNEL" "$LV_KERNEL" && cp "$QI_INITRD" "$LV_INITRD" &&
		chmod 644 "$LV_KERNEL" "$LV_INITRD"
}

# lv_domain_xml ID NAME DEVICES_XML [DOMAIN_XML]: a domain of the inner
# guest: direct kernel boot, its console on a file and its agent on a pipe
# (qi_cmd), q35 with spare root ports for hot-plug, the devices given
# (and DOMAIN_XML, e.g. <memoryBacking>, at the top level).
lv_domain_xml() {
	local id=$1 name=$2 devs=$3 top=${4:-} dir=$QI_WORK/$1
	cat <<-EOF
		<domain type='kvm'>
		  <name>$name</name>
		  <memory unit='MiB'>${QI_MEM%M}</memory>
		  <vcpu>1</vcpu>
		  <os>
		    <type arch='x86_64' machine='q35'>hvm</type>
		    <kernel>$LV_KERNEL</kernel>
		    <initrd>$LV_INITRD</initrd>
		    <cmdline>$(qi_append lv)</cmdline>
		  </os>
		  <features><acpi/></features>
		$top
		  <cpu mode='custom' match='exact'><model fallback='allow'>qemu64</model></cpu>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>destroy</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>$LV_EMU</emulator>
		    <controller type='usb' model='none'/>
		    <controller type='pci' index='0' model='pcie-root'/>
		    <controller type='pci' index='1' model='pcie-root-port'/>
		    <controller type='pci' index='2' model='pcie-root-port'/>
		    <controller type='pci' index='3' model='pcie-root-port'/>
		    <controller type='pci' index='4' model='pcie-root-port'/>
		$devs
		    <serial type='file'><source path='$dir/console.log'/><target port='0'/></serial>
		    <serial type='pipe'><source path='$dir/ag'/><target port='1'/></serial>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
}

# lv_create ID NAME DEVICES_XML [DOMAIN_XML]: `virsh create` the domain;
# registers it as qi instance ID (QI_PID is its QEMU).  Prints libvirt's
# and QEMU's logs when it does not start.
lv_create() {
	local id=$1 name=$2 devs=$3 top=${4:-} dir=$QI_WORK/$1 fd pidf
	rm -rf "$dir"
	mkdir -p "$dir"
	chmod 755 "$dir"
	mkfifo -m 666 "$dir/ag.in" "$dir/ag.out"
	cat "$dir/ag.out" > "$dir/ag.log" &
	QI_BG+=($!)
	lv_domain_xml "$id" "$name" "$devs" "$top" > "$dir/domain.xml"
	QI_DIR[$id]=$dir
	if ! lv_virsh create "$dir/domain.xml" > "$dir/virsh.out" 2>&1; then
		qi_log "virsh create $name failed:"
		sed 's/^/#   virsh| /' "$dir/virsh.out"
		lv_logs "$name"
		return 1
	fi
	pidf=/run/libvirt/qemu/$name.pid
	QI_PID[$id]=$(cat "$pidf" 2>/dev/null)
	exec {fd}<> "$dir/ag.in"
	QI_AGFD[$id]=$fd
	QI_MONFD[$id]=
	tr '\0' ' ' < "/proc/${QI_PID[$id]}/cmdline" > "$dir/cmdline" 2>/dev/null
	qi_log "domain '$name' started by libvirtd: QEMU pid ${QI_PID[$id]}, user $(ps -o user= -p "${QI_PID[$id]}")"
}

# lv_logs NAME: the tails of libvirtd's log and of the domain's QEMU log.
lv_logs() {
	tail -n 15 "$LV_DIR/libvirtd.log" | sed 's/^/#   libvirtd| /'
	tail -n 15 "$LV_DIR/log/qemu/$1.log" 2>/dev/null | sed 's/^/#   qemu-log| /'
}

# lv_destroy ID NAME: virsh destroy, then wait for QEMU to be gone.
lv_destroy() {
	local id=$1 name=$2 pid=${QI_PID[$1]:-} fd
	lv_virsh destroy "$name" > /dev/null 2>&1
	for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fd=${QI_AGFD[$id]:-}
	[ -n "$fd" ] && exec {fd}>&-
	QI_AGFD[$id]=
	QI_PID[$id]=
	! kill -0 "$pid" 2>/dev/null
}

# lv_cleanup: every domain and network of both daemons gone, then the
# daemons (EXIT trap, before qi_cleanup).
lv_cleanup() {
	local d u
	for u in ${LV2_PID:+"$LV2_URI"} ${LV_PID:+qemu:///system}; do
		for d in $(virsh -q -c "$u" list --name 2>/dev/null); do virsh -q -c "$u" destroy "$d" > /dev/null 2>&1; done
		for d in $(virsh -q -c "$u" net-list --name 2>/dev/null); do virsh -q -c "$u" net-destroy "$d" > /dev/null 2>&1; done
	done
	lv_kill "$LV2_PID"
	LV2_PID=
	lv_daemon_stop
	[ -n "$LV_MADE_KVM" ] && rm -f /dev/kvm
	LV_MADE_KVM=
	return 0
}
