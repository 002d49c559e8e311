#!/usr/bin/env python3
"""Fake running systems for the scale rows of `make bench` (bench/bench.sh).

  fake-live.py procs DIR N FDS MAPS
      N processes in DIR/proc, each with FDS descriptors and MAPS mappings,
      none of them on a DAX device: per hundred descriptors 50 sockets,
      10 pipes, 10 anonymous inodes and 30 files of this machine (followed
      by fstatat, as a server's open files are); per mapping a line with a
      device and inode that no /dev/dax node has.  Each process has its main
      thread only (a fake pid cannot answer kcmp), and all share one mount
      namespace of local file systems (no NFS or FUSE mount: no descriptor
      needs a closer look in a child).
  fake-live.py devices DIR N
      N device-DAX instances in the compat model in DIR/sys (nd device
      daxI.1 bound to dax_pmem_compat, class/dax/daxI.0), with size,
      target_node and dev attributes as the kernel prints them.

DIR is the directory DAXBUS_TEST_LIVE names (tests/migrate/lib.sh has the
layout); what is already in it is kept.
"""
import os
import sys

MOUNTINFO = """\
22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
23 28 0:22 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
24 28 0:5 / /dev rw,nosuid,relatime shared:2 - devtmpfs udev rw,size=8G,nr_inodes=2M,mode=755
26 28 0:24 / /run rw,nosuid,nodev,noexec,relatime shared:5 - tmpfs tmpfs rw,size=1G,mode=755
28 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
"""
FILES = ["/etc/hostname", "/etc/passwd", "/etc/os-release", "/bin/sh", "/etc/hosts"]


def procs(top, n, fds, maps):
    proc = os.path.join(top, "proc")
    for i in range(n):
        pid = str(100000 + i)
        p = os.path.join(proc, pid)
        os.makedirs(os.path.join(p, "fd"))
        os.makedirs(os.path.join(p, "task", pid))
        with open(os.path.join(p, "comm"), "w") as f:
            f.write("worker%d\n" % i)
        # one mount namespace, local file systems only (no NFS or FUSE)
        os.makedirs(os.path.join(p, "ns"))
        os.symlink("mnt:[4026531841]", os.path.join(p, "ns", "mnt"))
        with open(os.path.join(p, "mountinfo"), "w") as f:
            f.write(MOUNTINFO)
        fdd = os.path.join(p, "fd")
        for k in range(fds):
            r = k % 100
            if r < 50:
                target = "socket:[%d]" % (1000000 + i * fds + k)
            elif r < 60:
                target = "pipe:[%d]" % (2000000 + i * fds + k)
            elif r < 70:
                target = "anon_inode:[eventpoll]"
            else:
                target = FILES[k % len(FILES)]
            os.symlink(target, os.path.join(fdd, str(k)))
        lines = []
        for m in range(maps):
            start = 0x7F0000000000 + m * 0x200000
            lines.append("%012x-%012x r-xp 00000000 fe:01 %-10d /usr/lib/lib%d.so\n"
                         % (start, start + 0x1000, 500000 + m, m))
        with open(os.path.join(p, "maps"), "w") as f:
            f.writelines(lines)


def devices(top, n):
    s = os.path.join(top, "sys")
    drv = os.path.join(s, "bus/nd/drivers/dax_pmem_compat")
    os.makedirs(drv, exist_ok=True)
    os.makedirs(os.path.join(s, "module/dax_pmem_compat"), exist_ok=True)
    open(os.path.join(drv, "unbind"), "a").close()
    for i in range(n):
        nd = os.path.join(s, "bus/nd/devices/dax%d.1" % i)
        os.makedirs(nd)
        with open(os.path.join(nd, "namespace"), "w") as f:
            f.write("namespace%d.0\n" % i)
        os.symlink("../../drivers/dax_pmem_compat", os.path.join(nd, "driver"))
        c = os.path.join(s, "class/dax/dax%d.0" % i)
        os.makedirs(c)
        os.symlink(nd, os.path.join(c, "device"))
        with open(os.path.join(c, "dev"), "w") as f:
            f.write("252:%d\n" % i)
        with open(os.path.join(c, "size"), "w") as f:
            f.write("1073741824\n")
        with open(os.path.join(c, "target_node"), "w") as f:
            f.write("%d\n" % (i % 2))


def main(argv):
    if len(argv) == 6 and argv[1] == "procs":
        procs(argv[2], int(argv[3]), int(argv[4]), int(argv[5]))
    elif len(argv) == 4 and argv[1] == "devices":
        devices(argv[2], int(argv[3]))
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
