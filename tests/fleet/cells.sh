# shellcheck shell=bash
# Boot cells of the fleet family: the daxbus.daxbus Ansible collection
# (ansible/) run by Debian 12's ansible-playbook on this machine against
# three booted guests over SSH (QEMU user networking, a host port forwarded
# to each guest's sshd, a key made per run):
#   dracut510  the fleet-dracut root on 5.10 (its kernel installed with dpkg,
#              its own image), the .deb of this run copied over
#   itools510  the fleet-itools root on 5.10, likewise
#   bus61      the fleet-itools root on 6.1 (bus-only, a plain dracut image
#              from the harness), daxbus installed by name from a local apt
#              repository of files; no image rebuild, no reboot
# One job drives them through five plays in sequence and keeps each play's
# output and each guest's state before and after (guest-state.sh); the six
# cells judge those files:
#   check (--check --diff on the fresh guests), real run (install, migrate
#   live, enable, rebuild, reboot), the same play again, state: absent
#   (rebuild, reboot), busy (a process holds /dev/dax0.0 on dracut510).
# The guests skip the harness's agent (daxbus.test=fleet) and stay up until
# the job powers them off.  Sourced by tests/harness/boot.sh.
# shellcheck disable=SC2154 # K510, K61 (boot.sh), boot, cell, seen (the scheduler)
fleet_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FLEET_HOSTS="dracut510 itools510 bus61"
# A guest's whole life is one QEMU run per boot: five plays and two reboots.
FLEET_TIMEOUT=2400

fleet_pubkey() { echo "$BOOT_DIR/fleet/key.pub"; }

sched_image "plain-$K61" dracut_build "$K61" systemd
_fleet_common=(append="daxbus.test=fleet" ssh=1 no_report=1 timeout="$FLEET_TIMEOUT")
sched_boot fleet-dracut510 disk="treefn:root_variant fleet-dracut" kernel=disk:/vmlinuz initrd=disk:/initrd.img \
	reboots=3 "${_fleet_common[@]}" put="fn:fleet_pubkey:/root/.ssh/authorized_keys"
sched_boot fleet-itools510 disk="treefn:root_variant fleet-itools" kernel=disk:/vmlinuz initrd=disk:/initrd.img \
	reboots=3 "${_fleet_common[@]}" put="fn:fleet_pubkey:/root/.ssh/authorized_keys"
sched_boot fleet-bus61 disk="treefn:root_variant fleet-itools" kver="$K61" initrd="image:plain-$K61" \
	"${_fleet_common[@]}" put="fn:fleet_pubkey:/root/.ssh/authorized_keys $DEB_REPO_PUT \
$fleet_here/daxbus-repo.list:/etc/apt/sources.list.d/daxbus-repo.list"
unset _fleet_common

# fleet_ssh HOST CMD...: CMD in the guest
fleet_ssh() {
	local h=$1 port
	shift
	port=$(cat "$BOOT_DIR/fleet-$h/ssh-port") || return 1
	ssh -i "$BOOT_DIR/fleet/key" -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=60 root@127.0.0.1 "$@"
}

# fleet_banner HOST: sshd answers (its banner) within 5 minutes, or fail
fleet_banner() {
	local port _
	for _ in $(seq 1 150); do
		port=$(cat "$BOOT_DIR/fleet-$1/ssh-port" 2>/dev/null)
		if [ -n "$port" ] && timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; head -c 4 <&3" 2>/dev/null | grep -q SSH-; then
			return 0
		fi
		[ -e "/proc/$(cat "$BOOT_DIR/fleet-$1/qemu.pid" 2>/dev/null)" ] || return 1
		sleep 2
	done
	return 1
}

# fleet_state PHASE: every guest's state into DIR/state.PHASE.HOST
fleet_state() {
	local h
	for h in $FLEET_HOSTS; do
		fleet_ssh "$h" bash -s <"$fleet_here/guest-state.sh" >"$FLEET_DIR/state.$1.$h" 2>&1 ||
			echo "ssh_failed=$?" >>"$FLEET_DIR/state.$1.$h"
	done
}

# fleet_play PHASE [ansible-playbook args...]: DIR/PHASE.out, DIR/PHASE.rc, DIR/PHASE.seconds,
# and each task's time on each host in DIR/junit.PHASE/*.xml (Ansible's junit callback)
fleet_play() {
	local phase=$1 t0 rc=0
	shift
	t0=$(boot_now)
	ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 ANSIBLE_PIPELINING=1 ANSIBLE_HOST_KEY_CHECKING=0 ANSIBLE_TIMEOUT=120 \
		ANSIBLE_RETRY_FILES_ENABLED=0 ANSIBLE_COLLECTIONS_PATH=$FLEET_DIR/collections \
		ANSIBLE_SSH_ARGS="-o ControlMaster=auto -o ControlPersist=1200s -o ServerAliveInterval=20" \
		ANSIBLE_SSH_CONTROL_PATH_DIR=$FLEET_DIR/cp ANSIBLE_LOCAL_TEMP=$FLEET_DIR/tmp \
		ANSIBLE_CALLBACKS_ENABLED=ansible.builtin.junit JUNIT_OUTPUT_DIR=$FLEET_DIR/junit.$phase \
		JUNIT_TASK_CLASS=yes JUNIT_INCLUDE_SETUP_TASKS_IN_REPORT=yes \
		ansible-playbook -i "$FLEET_DIR/inventory.yml" "$fleet_here/site.yml" -e "fleet_phase=$phase" "$@" \
		>"$FLEET_DIR/$phase.out" 2>&1 || rc=$?
	echo "$rc" >"$FLEET_DIR/$phase.rc"
	boot_elapsed "$t0" >"$FLEET_DIR/$phase.seconds"
	boot_log "fleet: play $phase: rc=$rc after $(cat "$FLEET_DIR/$phase.seconds") s"
}

fleet_inventory() {
	local deb=$1 h
	{
		echo "fleet:"
		echo "  vars:"
		echo "    ansible_host: 127.0.0.1"
		echo "    ansible_user: root"
		echo "    ansible_python_interpreter: /usr/bin/python3"
		echo "    ansible_ssh_private_key_file: $FLEET_DIR/key"
		echo "    ansible_ssh_common_args: -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
		echo "    daxbus_reboot_timeout: 900"
		echo "    daxbus_ssh_timeout: 120"
		echo "  hosts:"
		for h in $FLEET_HOSTS; do
			echo "    $h:"
			echo "      ansible_port: $(cat "$BOOT_DIR/fleet-$h/ssh-port")"
			case $h in
			bus61)
				echo "      daxbus_update_cache: true"
				echo "      daxbus_rebuild_initramfs: false"
				echo "      daxbus_reboot: false"
				;;
			*)
				echo "      daxbus_package_file: $deb"
				echo "      daxbus_reboot: true"
				;;
			esac
		done
	} >"$FLEET_DIR/inventory.yml"
}

fleet_job() {
	local dir=$2 h deb rc=0 t0
	FLEET_DIR=$dir
	# (not the whole directory: the scheduler's harness.log is open in it)
	rm -rf "$dir"/{cp,tmp,collections,key,key.pub,inventory.yml,*.tar.gz} "$dir"/state.* "$dir"/junit.* "$dir"/*.{out,rc,seconds}
	mkdir -p "$dir/cp" "$dir/tmp" || return 1
	t0=$(boot_now)
	ssh-keygen -q -t ed25519 -N '' -C "daxbus fleet cells" -f "$dir/key" || return 1
	deb=$(deb_package) || return 1
	if ! ansible-galaxy collection build --output-path "$dir" "$BOOT_TOP/ansible" >"$dir/galaxy.out" 2>&1 ||
		! ansible-galaxy collection install -p "$dir/collections" "$dir"/daxbus-daxbus-*.tar.gz >>"$dir/galaxy.out" 2>&1; then
		boot_die "fleet: the collection did not build or install, see $dir/galaxy.out"
		return 1
	fi
	for h in $FLEET_HOSTS; do
		sched_guest_start "fleet-$h" || { boot_die "fleet: guest $h did not start"; rc=1; }
	done
	if [ "$rc" = 0 ]; then
		for h in $FLEET_HOSTS; do
			fleet_banner "$h" || { boot_die "fleet: no sshd banner from $h (see build/boot/fleet-$h/console.log)"; rc=1; }
		done
	fi
	boot_elapsed "$t0" >"$dir/up.seconds"
	if [ "$rc" = 0 ]; then
		fleet_inventory "$deb"
		# bus61's package lists know its repository, as a host's would
		fleet_ssh bus61 apt-get -q update >"$dir/apt-update.out" 2>&1
		fleet_state fresh
		fleet_play check --check --diff -e daxbus_migrate=true
		fleet_state check
		fleet_play real -e daxbus_migrate=true -e fleet_expect=bus
		fleet_state real
		fleet_play again -e daxbus_migrate=true -e fleet_expect=bus
		fleet_state again
		fleet_play absent -e daxbus_state=absent
		fleet_state absent
		# a process holds the compat device open on dracut510
		fleet_ssh dracut510 systemd-run --unit=daxbus-fleet-holder /bin/sh -c "'exec 3</dev/dax0.0; exec sleep infinity'" \
			>"$dir/holder.out" 2>&1
		sleep 1
		fleet_state busy-before
		fleet_play busy -e daxbus_migrate=true -e daxbus_rebuild_initramfs=false -e daxbus_reboot=false
		fleet_state busy
	fi
	for h in $FLEET_HOSTS; do
		fleet_ssh "$h" systemctl poweroff >/dev/null 2>&1
	done
	for h in $FLEET_HOSTS; do
		sched_guest_wait "fleet-$h" || { [ "$rc" = 0 ] && boot_die "fleet: guest $h ended badly: $(tail -n 3 "$BOOT_DIR/fleet-$h/guest.out")"; rc=1; }
	done
	return "$rc"
}

# What the guests are made of, built before the three-slot job in a job of
# one slot, so the rest of the matrix keeps the other slot busy meanwhile:
# the two roots and their disk images, bus61's image, this run's .deb.
fleet_roots_job() {
	local dir=$2 v
	deb_repo >/dev/null || return 1  # (the .deb first, tests/lib/deb.sh)
	sched_image_path "plain-$K61" >/dev/null || return 1
	for v in fleet-dracut fleet-itools; do
		if ! (t=$(root_variant "$v") && disk_base "$t" >/dev/null) >"$dir/root-$v.out" 2>&1; then
			boot_die "fleet: root $v did not build: $(tail -n 3 "$dir/root-$v.out")"
			return 1
		fi
	done
}
sched_job fleet-roots run=fleet_roots_job slots=1 timeout=1800
sched_job fleet run=fleet_job slots=3 timeout=3000 after=fleet-roots

# --- verdicts --------------------------------------------------------------------

# fstate PHASE HOST KEY -> the value the guest reported
fstate() { sed -n "s/^$3=//p" "$BOOT_DIR/fleet/state.$1.$2" 2>/dev/null | head -n1; }
# frecap PHASE HOST KEY -> the number in the play's recap (ok, changed, failed, ...)
frecap() { sed -n "s/^$2 *: .*\b$3=\([0-9]*\).*/\1/p" "$BOOT_DIR/fleet/$1.out" 2>/dev/null; }
fexpect_state() {
	local got
	got=$(fstate "$1" "$2" "$3")
	[ "$got" = "$4" ] || seen+=("$1: $2 $3=${got:-<none>} (want $4)")
}
fexpect_recap() {
	local h got
	for h in $FLEET_HOSTS; do
		got=$(frecap "$1" "$h" "$2")
		case $3 in
		'>0') [ "${got:-0}" -gt 0 ] || seen+=("$1: $h $2=${got:-<no recap>} (want > 0)") ;;
		*) [ "$got" = "$3" ] || seen+=("$1: $h $2=${got:-<no recap>} (want $3)") ;;
		esac
	done
}
fexpect_rc() {
	local got
	got=$(cat "$BOOT_DIR/fleet/$1.rc" 2>/dev/null)
	[ "$got" = "$2" ] || seen+=("$1: ansible-playbook exited ${got:-<never ran>} (want $2), see build/boot/fleet/$1.out")
}
# the cell's own part of the job: its play (and the guests' start for the first)
fnote() { note="play $1: $(cat "$BOOT_DIR/fleet/$1.seconds" 2>/dev/null || echo '?') s"; }

check_fleet_check() {
	local h k
	fnote check
	note+=", guests up in $(cat "$BOOT_DIR/fleet/up.seconds" 2>/dev/null) s"
	fexpect_rc check 0
	fexpect_recap check failed 0
	fexpect_recap check changed '>0'
	for h in dracut510 itools510; do
		grep -A2 "^changed: \[$h\]" "$BOOT_DIR/fleet/check.out" | grep -q '"would install /var/tmp/daxbus_' ||
			seen+=("check: no 'would install' change for $h")
	done
	for h in $FLEET_HOSTS; do
		for k in package policy dropins model var_tmp_debs; do
			[ "$(fstate check "$h" "$k")" = "$(fstate fresh "$h" "$k")" ] ||
				seen+=("check: $h $k was '$(fstate fresh "$h" "$k")', now '$(fstate check "$h" "$k")'")
		done
		fexpect_state check "$h" package none
		fexpect_state check "$h" policy absent
	done
	fexpect_state check dracut510 model compat
	fexpect_state check itools510 model compat
	fexpect_state check bus61 model bus
}

check_fleet_ansible() {
	local h old
	fnote real
	fexpect_rc real 0
	fexpect_recap real failed 0
	fexpect_recap real unreachable 0
	fexpect_recap real changed '>0'
	for h in $FLEET_HOSTS; do
		fexpect_state real "$h" package "install ok installed $(dpkg-parsechangelog -l "$BOOT_TOP/debian/changelog" -S Version)"
		fexpect_state real "$h" policy present
		fexpect_state real "$h" model bus
		grep -q "FLEET $h phase=real model=bus" "$BOOT_DIR/fleet/real.out" || seen+=("real: the play's fact does not say $h is in the bus model")
	done
	for h in dracut510 itools510; do
		old=$(fstate fresh "$h" boot_id)
		# live: the guest's own view and the fact, recorded before the reboot
		fexpect_state real "$h" live.real.boot_id "$old"
		fexpect_state real "$h" live.real.bus present
		fexpect_state real "$h" live.real.class absent
		fexpect_state real "$h" live.real.fact_model bus
		grep -q "FLEET $h phase=real .*migrated_devices=[1-9]" "$BOOT_DIR/fleet/real.out" || seen+=("real: migrate moved no device on $h")
		# after the reboot: a new boot, on the image the guest built, whose
		# initramfs step ran (its kernel log lines)
		[ "$(fstate real "$h" boot_id)" != "$old" ] || seen+=("real: $h did not reboot")
		[ "$(fstate real "$h" kmsg_daxbus)" -gt 0 ] 2>/dev/null || seen+=("real: $h's initramfs left no daxbus: kernel log line after the reboot")
		grep -q 'own-initrd.img' "$BOOT_DIR/fleet-$h/qemu.cmd" || seen+=("real: $h did not come back on its own initramfs")
	done
	# migrate's JSON: the devices it moved (the policy it writes is a file)
	grep -q "FLEET bus61 phase=real .*migrated_devices=0\b" "$BOOT_DIR/fleet/real.out" ||
		seen+=("real: bus61's migrate moved devices: $(grep -o 'FLEET bus61 phase=real .*' "$BOOT_DIR/fleet/real.out")")
	fexpect_state real bus61 var_tmp_debs 0
	fexpect_state real bus61 boot_id "$(fstate fresh bus61 boot_id)"
}

check_fleet_again() {
	fexpect_rc again 0
	fnote again
	fexpect_recap again changed 0
	fexpect_recap again failed 0
	local h
	for h in $FLEET_HOSTS; do
		fexpect_state again "$h" boot_id "$(fstate real "$h" boot_id)"
		fexpect_state again "$h" model bus
	done
}

check_fleet_absent() {
	local h
	fnote absent
	fexpect_rc absent 0
	fexpect_recap absent failed 0
	for h in $FLEET_HOSTS; do
		fexpect_state absent "$h" policy absent
		fexpect_state absent "$h" dropins none
	done
	for h in dracut510 itools510; do
		[ "$(fstate absent "$h" boot_id)" != "$(fstate again "$h" boot_id)" ] || seen+=("absent: $h did not reboot")
		fexpect_state absent "$h" model compat
		fexpect_state absent "$h" kmsg_daxbus 0
		fexpect_state absent "$h" live.absent.boot_id "$(fstate again "$h" boot_id)"
	done
}

check_fleet_busy() {
	local pid
	fnote busy
	fexpect_rc busy 2
	fexpect_state busy-before dracut510 model compat
	pid=$(fstate busy-before dracut510 holder)
	case $pid in
	*' sleep /dev/dax0.0') ;;
	*) seen+=("busy: no holder of /dev/dax0.0 on dracut510 ($pid)") ;;
	esac
	pid=${pid%% *}
	[ "$(frecap busy dracut510 failed)" = 1 ] || seen+=("busy: dracut510 failed=$(frecap busy dracut510 failed) (want 1)")
	grep -A3 '^fatal: \[dracut510\]' "$BOOT_DIR/fleet/busy.out" | grep -q "daxbus migrate exited.*sleep.*$pid\|daxbus migrate exited.*$pid.*sleep" ||
		seen+=("busy: dracut510's failure does not name the holder (sleep, pid $pid)")
	for h in itools510 bus61; do
		[ "$(frecap busy "$h" failed)" = 0 ] || seen+=("busy: $h failed=$(frecap busy "$h" failed) (want 0)")
		fexpect_state busy "$h" model bus
	done
	fexpect_state busy dracut510 model compat
	fexpect_state busy dracut510 policy absent
	fexpect_state busy dracut510 holder "$(fstate busy-before dracut510 holder)"
	fexpect_state busy dracut510 driver "$(fstate busy-before dracut510 driver)"
	fexpect_state busy dracut510 boot_id "$(fstate busy-before dracut510 boot_id)"
}

sched_cell fleet-ansible fleet check_fleet_ansible
sched_cell fleet-ansible-idempotent fleet check_fleet_again
sched_cell fleet-ansible-check fleet check_fleet_check
sched_cell fleet-ansible-busy fleet check_fleet_busy
sched_cell fleet-ansible-absent fleet check_fleet_absent
ALL_CELLS+=(fleet-ansible fleet-ansible-idempotent fleet-ansible-check fleet-ansible-busy fleet-ansible-absent)
