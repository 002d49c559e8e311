#!/bin/bash
# dracut module "daxbus": use the /sys/bus/dax device model from the first
# boot.  The initramfs gets the static daxbus helper and, depending on the init
# flavour, two hooks (shell init) or two units (systemd initrd):
#   early  before udevd starts: policy into /run/modprobe.d (this boot, both
#          in the initramfs and, since /run survives switch-root, in the root)
#   root   after /sysroot is mounted: policy persisted into the root's /etc
# Nothing DAX-specific is baked into the image's own configuration (the
# helper carries the policy text compiled in), so rd.daxbus=0 on the kernel
# command line can always opt out.
#
# Written for every dracut in the field, 049 (RHEL 8) to dracut-ng: nothing
# newer than 049 is used without a fallback (dracut.daxbus(7), PORTABILITY):
#   $SYSTEMCTL          052 and later; older ones call systemctl directly
#   $dracutsysrootdir   050 and later; unset means the host's own root
# and install() checks its own work, because no dracut up to dracut-ng 106
# looks at install()'s status: a step that did not happen ends the build.

# moddir, initdir, hostonly and systemdsystemunitdir are set by dracut.
# shellcheck disable=SC2154

# Opt-in only: included when asked for (--add daxbus, add_dracutmodules).
check() {
    return 255
}

# Where the helper is: an explicit DAXBUS_HELPER, one shipped next to this
# file, the path `make install` recorded, or anything on PATH.
_daxbus_find_helper() {
    local _p
    for _p in "${DAXBUS_HELPER:-}" "$moddir/daxbus" "@SBINDIR@/daxbus"; do
        [[ -n $_p && -x $_p ]] && { echo "$_p"; return 0; }
    done
    find_binary daxbus
}

# Does this machine have an nd dax device with a namespace (a devdax
# namespace), in either device model?  Asked only for hostonly images.  Every
# libnvdimm region also has an idle seed dax device with no namespace: that
# one is not a reason to add drivers.
_daxbus_host_has_nd_dax() {
    local _d _ns
    for _d in "${dracutsysrootdir-}"/sys/bus/nd/devices/dax*; do
        [[ -r $_d/namespace ]] || continue
        read -r _ns <"$_d/namespace" 2>/dev/null || continue
        [[ -n $_ns && $_ns != none ]] && return 0
    done
    return 1
}

# Hostonly images carry the drivers of this machine's devices, but nothing in
# dracut asks for drivers/dax: hostonly dracut puts the NVDIMM's nd drivers in
# the image and no DAX driver, and the device binds only after switch-root.
# On a machine with an nd dax device, add the bus model's drivers (with their
# dependencies), never dax_pmem_compat: the device is then in the bus model
# already in the initramfs.  hostonly='' because in a compat-model boot
# dax_pmem is not loaded, and hostonly instmods would skip it.  Generic
# images stay as they are (--add-drivers asks for the drivers there).
installkernel() {
    [[ $hostonly ]] || return 0
    _daxbus_host_has_nd_dax || return 0
    hostonly='' instmods dax_pmem device_dax ||
        dwarn "daxbus: the kernel's DAX drivers (dax_pmem, device_dax) were not found; the device binds after switch-root"
    return 0
}

# An image that silently lacks what the administrator asked for is worse than
# a failed build: say what is missing and end dracut with status 1 (its exit
# trap removes the half-built image; the installed one stays as it was).
# dracut does the same when a hook cannot be installed.
_daxbus_abort() {
    dfatal "daxbus: $*"
    dfatal "daxbus: aborting the initramfs build (an image without these steps would boot in the compat model)"
    exit 1
}

# Is UNIT wanted by TARGET in the image (a link in either unit directory)?
_daxbus_wanted() {
    local _d
    for _d in etc/systemd/system usr/lib/systemd/system lib/systemd/system "${systemdsystemunitdir#/}"; do
        [[ -L $initdir/$_d/$1.wants/$2 || -e $initdir/$_d/$1.wants/$2 ]] && return 0
    done
    return 1
}

install() {
    local _helper _unit _target
    # dracut 052 and later export SYSTEMCTL (an alternative systemctl for
    # cross builds); 049 to 051 call systemctl themselves.
    local _systemctl=${SYSTEMCTL:-systemctl}

    if ! _helper=$(_daxbus_find_helper) || [[ -z $_helper ]]; then
        _daxbus_abort "the daxbus helper was not found (install it, or set DAXBUS_HELPER)"
    fi
    # The helper is static by design: inst_simple, no library resolution.
    inst_simple "$_helper" /usr/sbin/daxbus
    [[ -x $initdir/usr/sbin/daxbus ]] || _daxbus_abort "copying $_helper to the image's /usr/sbin/daxbus failed"

    if dracut_module_included "systemd"; then
        for _unit in daxbus-early.service daxbus-root.service; do
            inst_simple "$moddir/$_unit" "$systemdsystemunitdir/$_unit"
            [[ -f $initdir$systemdsystemunitdir/$_unit ]] || _daxbus_abort "copying $_unit to the image failed"
        done
        for _unit in sysinit.target:daxbus-early.service initrd.target:daxbus-root.service; do
            _target=${_unit%%:*}
            _unit=${_unit#*:}
            $_systemctl -q --root "$initdir" add-wants "$_target" "$_unit"
            _daxbus_wanted "$_target" "$_unit" ||
                _daxbus_abort "'$_systemctl --root $initdir add-wants $_target $_unit' did not enable $_unit"
        done
    else
        # Early in pre-udev, ahead of the stock hooks (30 and later).
        inst_hook pre-udev 05 "$moddir/daxbus-early-hook.sh"
        inst_hook pre-pivot 50 "$moddir/daxbus-root-hook.sh"
    fi
}
