# shellcheck shell=bash
# Boot cell cloudinit-firstboot: a 5.10 guest (the cloudinit root: itools
# and Debian 12's cloud-init, the kernel installed with dpkg, its stock
# image) whose first boot runs cloud-init with the NoCloud seed in
# /var/lib/cloud/seed/nocloud: the documented examples/cloud-init/
# daxbus.cloud-config, with the apt: sources: entry its comment tells users
# to add (the local repository of files of this run's .deb).  The guest
# agent reports after cloud-final; then a second boot on the kernel and
# image the guest built itself.  Sourced by tests/harness/boot.sh.
# shellcheck disable=SC2154 # POLICY_SHA (checks.sh), boot, seen (the scheduler)
cloudinit_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# The user-data: the documented file as it is, then the test's repository.
cloudinit_user_data() {
	local f=$BOOT_DIR/$1/user-data
	{
		cat "$BOOT_TOP/examples/cloud-init/daxbus.cloud-config"
		printf 'apt:\n  preserve_sources_list: true\n  sources:\n    daxbus-test:\n'
		printf '      source: "deb [trusted=yes] file:/srv/daxbus-repo ./"\n'
	} >"$f" && echo "$f"
}

sched_boot cloudinit-first disk="treefn:root_variant cloudinit" kernel=disk:/vmlinuz initrd=disk:/initrd.img \
	timeout=900 actions="$cloudinit_here/actions/cloudinit-survey.sh" \
	put="fn:cloudinit_user_data:/var/lib/cloud/seed/nocloud/user-data \
$cloudinit_here/meta-data:/var/lib/cloud/seed/nocloud/meta-data $DEB_REPO_PUT"
sched_boot cloudinit-reboot disk=after:cloudinit-first kernel=disk:/vmlinuz initrd=disk:/initrd.img \
	timeout=600 actions="$cloudinit_here/actions/cloudinit-survey.sh"

check_cloudinit_firstboot() {
	local first_id
	expect cloudinit.status "done"
	expect cloudinit.errors 0
	expect cloudinit.package "install ok installed $(dpkg-parsechangelog -l "$BOOT_TOP/debian/changelog" -S Version)"
	# the bus model in this boot, by migrate: the stock image did nothing
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect_no_kmsg
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	first_id=$(r cloudinit.boot_id)
	on cloudinit-reboot
	# the next boot: the image cloud-init's runcmd rebuilt carries daxbus,
	# whose initramfs step logs to the kernel log; cloud-init ran nothing again
	[ "$(r cloudinit.boot_id)" != "$first_id" ] || seen+=("the second boot has the first one's boot id")
	expect bus_dax0.0 present
	expect class_dax0.0 absent
	expect conf./etc/modprobe.d/daxctl.conf "file:$POLICY_SHA"
	grep -q '^kmsg=.*daxbus:' "$BOOT_DIR/$boot/report.txt" || seen+=("second boot: no daxbus: line in the kernel log (the rebuilt image lacks daxbus)")
	expect cloudinit.status "done"
}
sched_cell cloudinit-firstboot "cloudinit-first cloudinit-reboot" check_cloudinit_firstboot
ALL_CELLS+=(cloudinit-firstboot)
