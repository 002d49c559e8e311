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

# moddir, initdir and systemdsystemunitdir are set by dracut for every module.
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

# Does this machine have an nd dax device (a devdax namespace), in either
# device model?  Asked only for hostonly images.
_daxbus_host_has_nd_dax() {
    local _d
    for _d in "${dracutsysrootdir-}"/sys/bus/nd/devices/dax*; do
        [[ -e $_d ]] && return 0
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

install() {
    local _helper

    if ! _helper=$(_daxbus_find_helper) || [[ -z $_helper ]]; then
        dfatal "daxbus: the daxbus helper was not found (install it, or set DAXBUS_HELPER)"
        return 1
    fi
    # The helper is static by design: inst_simple, no library resolution.
    inst_simple "$_helper" /usr/sbin/daxbus

    if dracut_module_included "systemd"; then
        inst_simple "$moddir/daxbus-early.service" "$systemdsystemunitdir/daxbus-early.service"
        inst_simple "$moddir/daxbus-root.service" "$systemdsystemunitdir/daxbus-root.service"
        $SYSTEMCTL -q --root "$initdir" add-wants sysinit.target daxbus-early.service
        $SYSTEMCTL -q --root "$initdir" add-wants initrd.target daxbus-root.service
    else
        # Early in pre-udev, ahead of the stock hooks (30 and later).
        inst_hook pre-udev 05 "$moddir/daxbus-early-hook.sh"
        inst_hook pre-pivot 50 "$moddir/daxbus-root-hook.sh"
    fi
}
