# shellcheck shell=bash
# Fake running systems for the migrate tests (sourced after tests/lib/t.sh):
# DAXBUS_TEST_LIVE=DIR makes the helper read DIR/sys, DIR/proc and DIR/dev.
# A device-DAX instance's "dev" attribute names 1:3, the numbers of
# /dev/null, and its node DIR/dev/dax0.0 is a link to /dev/null: a fake
# process whose fd or mapping is /dev/null holds "the device" without any
# privilege.

# The device number and inode of /dev/null's node, as a maps line prints
# them ("00:05 4"): a fake mapping of "the device" is one of /dev/null.
NULL_NODE=$(printf '%02x:%02x %d' "$(stat -c %Hd /dev/null)" "$(stat -c %Ld /dev/null)" "$(stat -c %i /dev/null)")

# live DIR WORD...: a fake /sys, /proc and /dev in DIR/sys, DIR/proc, DIR/dev;
# the instance dax0.0's node DIR/dev/dax0.0 is a link to /dev/null
live() {
	local d=$1 w s
	shift
	s=$d/sys
	mkdir -p "$s/bus/nd/devices" "$s/bus/nd/drivers" "$s/class/dax" "$s/bus/dax/devices" "$s/module" "$d/proc/1/fd" "$d/dev"
	ln -s /dev/null "$d/dev/dax0.0"
	echo systemd >"$d/proc/1/comm"
	ln -s /dev/zero "$d/proc/1/fd/0" # a character device that is no DAX device
	for w in "$@"; do
		case $w in
		compat|compat-unbound)
			mkdir -p "$s/bus/nd/devices/dax0.1" "$s/bus/nd/drivers/dax_pmem_compat" "$s/module/dax_pmem_compat"
			echo namespace0.0 >"$s/bus/nd/devices/dax0.1/namespace"
			: >"$s/bus/nd/drivers/dax_pmem_compat/unbind"
			[ "$w" = compat ] && ln -s ../../drivers/dax_pmem_compat "$s/bus/nd/devices/dax0.1/driver"
			mkdir -p "$s/class/dax/dax0.0"
			ln -s "$s/bus/nd/devices/dax0.1" "$s/class/dax/dax0.0/device"
			echo 1:3 >"$s/class/dax/dax0.0/dev"
			echo 1073741824 >"$s/class/dax/dax0.0/size"
			echo 0 >"$s/class/dax/dax0.0/target_node" ;;
		bus|kmem)
			mkdir -p "$s/bus/nd/devices/dax0.1" "$s/bus/dax/devices/dax0.0"
			echo namespace0.0 >"$s/bus/nd/devices/dax0.1/namespace"
			ln -s ../../drivers/dax_pmem "$s/bus/nd/devices/dax0.1/driver"
			ln -s "../../../../bus/dax/drivers/$([ "$w" = kmem ] && echo kmem || echo device_dax)" "$s/bus/dax/devices/dax0.0/driver"
			echo 1:3 >"$s/bus/dax/devices/dax0.0/dev"
			echo 534773760 >"$s/bus/dax/devices/dax0.0/size"
			echo 1 >"$s/bus/dax/devices/dax0.0/numa_node" ;;
		open) mkdir -p "$d/proc/4242/fd"; echo holder >"$d/proc/4242/comm"; ln -s /dev/null "$d/proc/4242/fd/3" ;;
		mapped) mkdir -p "$d/proc/4343/fd"; echo mapper >"$d/proc/4343/comm"
			printf '7f0000000000-7f0040000000 rw-s 00000000 %s                         /dev/dax0.0\n' "$NULL_NODE" >"$d/proc/4343/maps" ;;
		badnum) # numbers as no kernel prints them: unknown, never 0
			for x in "$s/class/dax/dax0.0" "$s/bus/dax/devices/dax0.0"; do
				[ -d "$x" ] || continue
				echo 0x40000000 >"$x/size"
				echo 1x >"$x/target_node"
				echo 1x >"$x/numa_node"
			done ;;
		fifo-unbind) # a FIFO where the driver's unbind attribute should be
			rm -f "$s/bus/nd/drivers/dax_pmem_compat/unbind"
			mkfifo "$s/bus/nd/drivers/dax_pmem_compat/unbind" ;;
		seed) # every region has one: no namespace, no driver
			mkdir -p "$s/bus/nd/devices/dax0.2"
			echo >"$s/bus/nd/devices/dax0.2/namespace" ;;
		-) ;;
		*) echo "migrate/lib.sh: unknown word $w" >&2; return 1 ;;
		esac
	done
}

# root DIR WORD...: the root the policy goes to
root() {
	local d=$1 w
	shift
	mkdir -p "$d/etc" "$d/run"
	for w in "$@"; do
		case $w in
		foreign) mkdir -p "$d/etc/modprobe.d"; printf '%s' "$FOREIGN_TEXT" >"$d/etc/modprobe.d/daxctl.conf" ;;
		-) ;;
		*) echo "migrate/lib.sh: unknown word $w" >&2; return 1 ;;
		esac
	done
}

# check_pieces TEXT PIECE...: each PIECE must be in TEXT ("!PIECE": must not
# be); what is wrong is added to the caller's problems array
check_pieces() {
	local text=$1 piece
	shift
	for piece in "$@"; do
		if [ "${piece#!}" != "$piece" ]; then
			! grep -qF -- "${piece#!}" <<<"$text" || problems+=("output has: ${piece#!}")
		else
			grep -qF -- "$piece" <<<"$text" || problems+=("output lacks: $piece")
		fi
	done
}
