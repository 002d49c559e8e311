#!/bin/bash
# The in-use check of `daxbus migrate`, class by class: whatever /proc shows
# of a descriptor or mapping of a device-DAX node is seen, with any number of
# devices, from any thread's file table, whatever the path text of a mapping
# says; a file system that does not answer neither hangs the scan nor makes
# it refuse unless a descriptor on it could be the device; a /proc that
# cannot show every process is refused.  Fake trees (lib.sh) for what needs
# no kernel, this machine's real /proc for the rest (threads with a file
# table of their own, real mappings, a stopped FUSE server, a pid namespace,
# hidepid).  Every case runs `migrate --dry-run`, which scans as the real
# run does and changes nothing.
set -uo pipefail
. "$(dirname "$0")/../lib/t.sh"
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
t_require python3 strace unshare capsh timeout qemu-storage-daemon

# migrate_dry LIVE ROOT [TIMEOUT]: out, rc and secs of a dry run (TIMEOUT s at most)
migrate_dry() {
	local start=$SECONDS
	out=$(DAXBUS_TEST_LIVE=$1 timeout -s KILL "${3:-20}" "$DAXBUS" migrate --root "$2" --dry-run 2>&1)
	rc=$?
	secs=$((SECONDS - start))
}

# verdict NAME WANT_RC PIECE...: judge the last migrate_dry ("!PIECE": must not appear)
verdict() {
	local name=$1 want=$2 problems=()
	shift 2
	[ "$rc" = "$want" ] || problems+=("exit $rc, want $want$([ "$rc" = 137 ] && echo ' (killed: it hung)')")
	check_pieces "$out" "$@"
	if [ ${#problems[@]} = 0 ]; then
		pass "$name (${secs} s)"
	else
		fail "$name" "${problems[@]}" "output: $out"
	fi
}

# holds FDDIR TARGET: does a descriptor in FDDIR (a /proc fd directory) lead to TARGET?
holds() {
	local f
	for f in "$1"/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "$2" ] && return 0
	done
	return 1
}

# A fake process PID named COMM in the fake /proc DIR.
fake_proc() {
	mkdir -p "$1/$2/fd" "$1/$2/task/$2"
	echo "$3" >"$1/$2/comm"
	ln -s ../../fd "$1/$2/task/$2/fd"
}

# --- any number of devices ------------------------------------------------------

# N regions in the compat model, each with its instance daxR.0 (device
# 250:R, no node) and a seed; instance K is /dev/full (1:7), held by 5151.
many() {
	local d=$1 n=$2 k=$3 s=$1/sys r
	mkdir -p "$s/bus/nd/drivers/dax_pmem_compat" "$s/module/dax_pmem_compat" "$s/class/dax" "$d/dev" "$d/proc"
	for ((r = 0; r < n; r++)); do
		mkdir -p "$s/bus/nd/devices/dax$r.1" "$s/bus/nd/devices/dax$r.2" "$s/class/dax/dax$r.0"
		echo "namespace$r.0" >"$s/bus/nd/devices/dax$r.1/namespace"
		echo >"$s/bus/nd/devices/dax$r.2/namespace"
		ln -s ../../drivers/dax_pmem_compat "$s/bus/nd/devices/dax$r.1/driver"
		ln -s "$s/bus/nd/devices/dax$r.1" "$s/class/dax/dax$r.0/device"
		echo "250:$r" >"$s/class/dax/dax$r.0/dev"
		echo $(((r + 1) << 30)) >"$s/class/dax/dax$r.0/size"
		echo 0 >"$s/class/dax/dax$r.0/target_node"
	done
	echo 1:7 >"$s/class/dax/dax$k.0/dev"
	ln -s /dev/full "$d/dev/dax$k.0"
	fake_proc "$d/proc" 5151 holder
	ln -s /dev/full "$d/proc/5151/fd/9"
}
mkdir -p "$T_WORK"
cat >"$T_WORK/inuse-many.py" <<'PY'
import json, sys
n, txt = int(sys.argv[1]), sys.argv[2]
d = json.load(sys.stdin)["devices"]
bad = []
inst = {x["chardev"]: x for x in d["instances"]}
nd = {x["device"]: x for x in d["nd_dax"]}
if set(inst) != {f"dax{r}.0" for r in range(n)}: bad.append(f"instances: {sorted(inst)}")
if {k for k, v in nd.items() if v["active"]} != {f"dax{r}.1" for r in range(n)}: bad.append("active nd devices differ")
if {k for k, v in nd.items() if not v["active"]} != {f"dax{r}.2" for r in range(n)}: bad.append("seeds differ")
for r in range(n):
    x = inst.get(f"dax{r}.0", {})
    if x.get("size") != (r + 1) << 30: bad.append(f"dax{r}.0 size {x.get('size')}")
    line = f"  dax{r}.0: compat model, driver dax_pmem_compat, mode devdax, size {(r + 1) << 30} ({(r + 1) << 10} MiB), target node 0"
    if line not in txt.splitlines(): bad.append(f"text lacks: {line}")
for b in bad: print(b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
for n in 17 64; do
	d=$(t_tmp inuse)
	k=$((n - 2))
	many "$d/live" "$n" "$k"
	root "$d/root" -
	migrate_dry "$d/live" "$d/root"
	verdict "$n devices: the holder of instance dax$k.0 is named" 1 "dax$k.0 (character device 1:7) is open by process 5151 (holder)"
	js=$(DAXBUS_TEST_LIVE=$d/live "$DAXBUS" status --root "$d/root" --json)
	txt=$(DAXBUS_TEST_LIVE=$d/live "$DAXBUS" status --root "$d/root")
	if python3 "$T_WORK/inuse-many.py" "$n" "$txt" <<<"$js"; then
		pass "$n devices: status lists every instance, active nd device and seed, text and JSON the same"
	else
		fail "$n devices: status" "JSON: $js" "text: $txt"
	fi
	rm -rf "$d"
done

# --- threads with a file table of their own --------------------------------------

d=$(t_tmp inuse)
live "$d/live" compat && root "$d/root" -
fake_proc "$d/live/proc" 6161 worker
mkdir -p "$d/live/proc/6161/task/6162/fd" "$d/live/proc/6161/task/6163"
ln -s /dev/null "$d/live/proc/6161/task/6162/fd/4" # its own table
ln -s ../../fd "$d/live/proc/6161/task/6163/fd"     # shares the process's
migrate_dry "$d/live" "$d/root"
verdict "fake tree: a thread's own file table is read (task/TID/fd)" 1 "dax0.0 (character device 1:3) is open by process 6161 (worker)"
rm "$d/live/proc/6161/task/6162/fd/4"
migrate_dry "$d/live" "$d/root"
verdict "fake tree: the same process without it: nothing holds the device" 0 "dry run, nothing is changed"
rm -rf "$d"

# The real thing: a thread calls unshare(CLONE_FILES), then opens /dev/full;
# the process's own table (/proc/PID/fd) never has it.  The fake /sys says
# the instance is 1:7, the fake /dev's node is /dev/full, /proc is the real one.
real_live() {
	local d=$1 node=$2 dev=$3
	live "$d" compat
	rm -rf "$d/proc" "$d/dev/dax0.0"
	ln -s /proc "$d/proc"
	ln -s "$node" "$d/dev/dax0.0"
	echo "$dev" >"$d/sys/class/dax/dax0.0/dev"
}
d=$(t_tmp inuse)
real_live "$d/live" /dev/full 1:7 && root "$d/root" -
python3 - "$d/ready" <<'PY' &
import ctypes, os, sys, threading, time
libc = ctypes.CDLL(None, use_errno=True)
def own_table():
    if libc.unshare(0x400) != 0:  # CLONE_FILES
        print("unshare(CLONE_FILES):", os.strerror(ctypes.get_errno()), file=sys.stderr)
        os._exit(2)
    os.open("/dev/full", os.O_RDONLY)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(f"{threading.get_native_id()}\n")
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    time.sleep(120)
threading.Thread(target=own_table, daemon=True).start()
time.sleep(120)
PY
holder=$!
for _ in $(seq 100); do [ -s "$d/ready" ] && break; sleep 0.1; done
tid=$(cat "$d/ready" 2>/dev/null)
if [ -z "$tid" ]; then
	fail "real thread with its own file table" "the python holder did not start"
elif holds "/proc/$holder/fd" /dev/full || ! holds "/proc/$holder/task/$tid/fd" /dev/full; then
	fail "real thread with its own file table" "the setup is wrong: /dev/full should be in task/$tid/fd only"
else
	migrate_dry "$d/live" "$d/root"
	verdict "real /proc: a thread after unshare(CLONE_FILES) holding the device is named" 1 \
		"dax0.0 (character device 1:7) is open by process $holder (python3)"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
rm -rf "$d"

# --- mappings: the kernel's device and inode, not the path text --------------------

NULL_DEV=$(printf '%02x:%02x' "$(stat -c %Hd /dev/null)" "$(stat -c %Ld /dev/null)")
NULL_INO=$(stat -c %i /dev/null)
# name | the maps line's device and inode ("NODE" = the node's) and path | held?
MAPS=$(cat <<'TABLE'
the node's path | NODE /dev/dax0.0 | yes
deleted | NODE /dev/dax0.0 (deleted) | yes
an escaped newline in the name | NODE /tmp/a\012b | yes
a path from another mount namespace | NODE /newroot/dev/pmem-app | yes
no path at all | NODE | yes
the node's path, another file | 00:05 99999999 /dev/dax0.0 | no
the same inode, another device | ff:fe INO /dev/dax0.0 | no
anonymous | 00:00 0 | no
TABLE
)
while IFS='|' read -r name line held; do
	name=$(trim "$name") line=$(trim "$line") held=$(trim "$held")
	line=${line//NODE/$NULL_DEV $NULL_INO}
	line=${line//INO/$NULL_INO}
	d=$(t_tmp inuse)
	live "$d/live" compat && root "$d/root" -
	fake_proc "$d/live/proc" 7171 mapper
	{
		echo "55d000000000-55d000001000 r-xp 00000000 08:01 1234 /usr/bin/mapper"
		echo "7f0000000000-7f0040000000 rw-s 00000000 $line"
	} >"$d/live/proc/7171/maps"
	migrate_dry "$d/live" "$d/root"
	if [ "$held" = yes ]; then
		verdict "mapping, $name: seen by device and inode" 1 "dax0.0 (character device 1:3) is mapped by process 7171 (mapper)"
	else
		verdict "mapping, $name: not the device" 0 "!mapped by process"
	fi
	rm -rf "$d"
done <<<"$MAPS"

# A real mapping whose descriptor is closed: python maps /dev/zero, closes it.
d=$(t_tmp inuse)
real_live "$d/live" /dev/zero 1:5 && root "$d/root" -
python3 - "$d/ready" <<'PY' &
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
fd = os.open("/dev/zero", os.O_RDWR)
if libc.mmap(None, 1 << 20, 3, 2, fd, 0) in (None, ctypes.c_void_p(-1).value):  # PROT_READ|PROT_WRITE, MAP_PRIVATE
    sys.exit("mmap: " + os.strerror(ctypes.get_errno()))
os.close(fd)
open(sys.argv[1], "w").write("ok\n")
time.sleep(120)
PY
holder=$!
for _ in $(seq 100); do [ -s "$d/ready" ] && break; sleep 0.1; done
if ! grep -q "/dev/zero" "/proc/$holder/maps" 2>/dev/null || holds "/proc/$holder/fd" /dev/zero; then
	fail "real mapping without a descriptor" "the setup is wrong: /dev/zero should be mapped, not open"
else
	migrate_dry "$d/live" "$d/root"
	verdict "real /proc: a mapping whose descriptor was closed is named" 1 "is mapped by process $holder (python3)"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null
rm -rf "$d"

# --- file systems that may not answer --------------------------------------------

# A fake process on a network file system: its mount (fdinfo's mnt_id in its
# mountinfo) makes a descriptor a candidate, looked at in a child.
nfs_proc() {
	local p=$1/proc/$2
	fake_proc "$1/proc" "$2" nfsuser
	mkdir -p "$p/fdinfo"
	cat >"$p/mountinfo" <<-'EOF'
	21 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
	22 21 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw
	23 21 0:21 / /proc rw,nosuid,nodev,noexec shared:3 - proc proc rw
	40 21 0:50 / /mnt/nfs rw,relatime shared:9 - nfs4 srv:/export rw,vers=4.2
	EOF
	mkdir -p "$p/ns"
	ln -s "mnt:[4026531841]" "$p/ns/mnt"
}
d=$(t_tmp inuse)
live "$d/live" compat && root "$d/root" -
nfs_proc "$d/live" 8181
ln -s /dev/null "$d/live/proc/8181/fd/3" # on the nfs4 mount: a candidate, and it is the device
printf 'pos:\t0\nflags:\t02\nmnt_id:\t40\n' >"$d/live/proc/8181/fdinfo/3"
migrate_dry "$d/live" "$d/root"
verdict "a descriptor on nfs4: looked at in the child, the device is seen" 1 "dax0.0 (character device 1:3) is open by process 8181 (nfsuser)"
rm "$d/live/proc/8181/fd/3"
ln -s /dev/null "$d/live/proc/8181/fd/5" # its mount is proc: cannot be a device, never looked at
printf 'pos:\t0\nflags:\t02\nmnt_id:\t23\n' >"$d/live/proc/8181/fdinfo/5"
ln -s /mnt/nfs/gone "$d/live/proc/8181/fd/6" # closed before the look: not a holder, not a refusal
printf 'pos:\t0\nflags:\t02\nmnt_id:\t40\n' >"$d/live/proc/8181/fdinfo/6"
migrate_dry "$d/live" "$d/root"
verdict "filtered by mount: a proc descriptor is skipped, a vanished one is no refusal" 0 "!nfsuser"
# The child's look at the nfs4 descriptor never returns (strace holds that
# one statx 20 s): the scan ends at its deadline and refuses, naming what.
# The time is the helper's own (strace lives on until the delay ends).
ln -s /etc/hostname "$d/live/proc/8181/fd/7"
printf 'pos:\t0\nflags:\t0100000\nmnt_id:\t40\n' >"$d/live/proc/8181/fdinfo/7"
# shellcheck disable=SC2016 # expanded by the inner shell
out=$(DAXBUS_TEST_LIVE=$d/live timeout -s KILL 60 strace -f -qq -o /dev/null -P "$d/live/proc/8181/fd/7" -e trace=statx \
	-e inject=statx:delay_enter=20000000 sh -c 'a=$(date +%s); "$1" migrate --root "$2" --dry-run; r=$?; echo "took $(($(date +%s) - a)) s"; exit $r' \
	sh "$DAXBUS" "$d/root" 2>&1)
rc=$?
secs=$(sed -n 's/^took \([0-9]*\) s$/\1/p' <<<"$out")
verdict "a candidate that does not answer: refused after the deadline, named" 1 \
	"cannot tell whether process 8181 (nfsuser) holds a device-DAX device: fd 7 (/etc/hostname, nfs4): its file system did not answer within 3 s"
if [ -n "$secs" ] && [ "$secs" -le 8 ]; then
	pass "the unanswered look cost the helper ${secs} s (deadline 3 s, then 1 s for the child to end)"
else
	fail "the unanswered look" "the helper took ${secs:-?} s, not at most 8"
fi
rm -rf "$d"

# A real FUSE server that stops answering (qemu-storage-daemon's FUSE export,
# SIGSTOP), a process holding a file on it: the scan neither hangs nor, once
# the holder is gone, refuses because of the mount.
d=$(t_tmp inuse)
real_live "$d/live" /dev/full 1:7 && root "$d/root" -
# outside build/: the disk sampler's du must not stat a stopped FUSE mount
fuse=$(mktemp -d /tmp/daxbus-fuse.XXXXXX)
truncate -s 1M "$fuse/img" && : >"$fuse/mnt"
qemu-storage-daemon --blockdev "driver=file,node-name=f,filename=$fuse/img" \
	--export "type=fuse,id=e,node-name=f,mountpoint=$fuse/mnt,writable=on" >"$fuse/qsd.log" 2>&1 &
qsd=$!
for _ in $(seq 100); do grep -q " $fuse/mnt " /proc/self/mountinfo && break; sleep 0.1; done
if ! grep -q " $fuse/mnt .* - fuse" /proc/self/mountinfo; then
	fail "a stopped FUSE server" "qemu-storage-daemon did not mount $fuse/mnt: $(cat "$fuse/qsd.log")"
else
	sleep 300 3<"$fuse/mnt" &
	user=$!
	sleep 0.2
	kill -STOP "$qsd"
	migrate_dry "$d/live" "$d/root" 30
	if [ "$rc" = 1 ]; then
		verdict "a stopped FUSE server under a descriptor: no hang, refused by name" 1 "process $user (sleep)" "fd 3 ($fuse/mnt, fuse)"
	else
		verdict "a stopped FUSE server under a descriptor: no hang, judged from what the kernel has cached" 0 "!cannot tell"
	fi
	# the holder's last close waits for the server: let it answer meanwhile
	kill -CONT "$qsd"
	kill "$user"
	wait "$user" 2>/dev/null
	kill -STOP "$qsd"
	migrate_dry "$d/live" "$d/root" 30
	verdict "a stopped FUSE server nobody holds a file on: no refusal" 0 "dry run, nothing is changed"
	kill -CONT "$qsd"
fi
kill "$qsd" 2>/dev/null
wait "$qsd" 2>/dev/null
umount -l "$fuse/mnt" 2>/dev/null
rm -rf "$d" "$fuse"

# --- a /proc that cannot show every process -----------------------------------------

d=$(t_tmp inuse)
live "$d/live" compat && root "$d/root" -
mkdir -p "$d/live/proc/self/ns"
ln -s "pid:[4026532999]" "$d/live/proc/self/ns/pid"
printf 'Name:\tdaxbus\nCapEff:\t000001ffffffffff\n' >"$d/live/proc/self/status"
migrate_dry "$d/live" "$d/root"
verdict "fake: itself in another pid namespace: refused" 1 "cannot see every process: it runs in a pid namespace other than the initial one"
ln -sfn "pid:[4026531836]" "$d/live/proc/self/ns/pid"
printf 'Name:\tdaxbus\nCapEff:\t0000000000000000\n' >"$d/live/proc/self/status"
printf '25 1 0:21 / %s rw,nosuid,nodev,noexec shared:3 - proc proc rw,hidepid=invisible\n' "$(realpath "$d/live/proc")" >"$d/live/proc/self/mountinfo"
migrate_dry "$d/live" "$d/root"
verdict "fake: hidepid=invisible without CAP_SYS_PTRACE: refused" 1 "is mounted with hidepid=invisible and this process lacks CAP_SYS_PTRACE"
printf 'Name:\tdaxbus\nCapEff:\t0000000000080000\n' >"$d/live/proc/self/status"
migrate_dry "$d/live" "$d/root"
verdict "fake: hidepid with CAP_SYS_PTRACE: sees everything" 0 "!cannot see"
rm -rf "$d"

# The real thing: a pid namespace of its own (unshare -p, its own /proc), and
# a hidepid=2 /proc with CAP_SYS_PTRACE dropped.
d=$(t_tmp inuse)
real_live "$d/live" /dev/full 1:7 && root "$d/root" -
start=$SECONDS
out=$(unshare -pf --mount-proc env DAXBUS_TEST_LIVE="$d/live" "$DAXBUS" migrate --root "$d/root" --dry-run 2>&1)
rc=$? secs=$((SECONDS - start))
verdict "real pid namespace with its own /proc: refused, says why" 1 "cannot see every process: it runs in a pid namespace other than the initial one"
rm "$d/live/proc" && mkdir "$d/live/proc"
for caps in keep drop; do
	start=$SECONDS
	# shellcheck disable=SC2016 # expanded by the inner shell
	out=$(unshare -m sh -c 'mount -t proc -o hidepid=2 proc "$1/live/proc" || exit 99
		if [ "$2" = drop ]; then exec capsh --drop=cap_sys_ptrace -- -c "exec env DAXBUS_TEST_LIVE=$1/live $3 migrate --root $1/root --dry-run"; fi
		exec env DAXBUS_TEST_LIVE="$1/live" "$3" migrate --root "$1/root" --dry-run' sh "$d" "$caps" "$DAXBUS" 2>&1)
	rc=$? secs=$((SECONDS - start))
	if [ "$rc" = 99 ]; then
		fail "real hidepid=2 /proc ($caps CAP_SYS_PTRACE)" "cannot mount proc with hidepid=2 here: $out"
	elif [ "$caps" = drop ]; then
		verdict "real hidepid=2 /proc without CAP_SYS_PTRACE: refused, says why" 1 "and this process lacks CAP_SYS_PTRACE"
	else
		verdict "real hidepid=2 /proc with CAP_SYS_PTRACE: no refusal" 0 "!cannot see"
	fi
done
rm -rf "$d"

# --- --root: nothing of the root runs on the host -----------------------------------

# A root whose modprobe configuration has install and remove commands, and
# whose module tree has what the migration loads: no program is started.
d=$(t_tmp inuse)
live "$d/live" compat && root "$d/root" -
mkdir -p "$d/root/etc/modprobe.d" "$d/root/lib/modules/$(uname -r)"
printf 'install dax_pmem /bin/touch %s/ran\ninstall dax_pmem_compat /bin/touch %s/ran\nremove dax_pmem_compat /bin/touch %s/ran\n' \
	"$d" "$d" "$d" >"$d/root/etc/modprobe.d/evil.conf"
strace -f -qq -o "$d/trace" -e trace=execve,execveat env DAXBUS_TEST_LIVE="$d/live" "$DAXBUS" migrate --root "$d/root" >"$d/out" 2>&1
rc=$?
execs=$(grep -c 'execve' "$d/trace")
if [ "$execs" -le 2 ] && [ ! -e "$d/ran" ]; then
	pass "migrate --root: no program started besides the helper (exit $rc, $(grep -c 'exec' "$d/trace") execve: env and daxbus)"
else
	fail "migrate --root started programs" "$(grep exec "$d/trace")" "output: $(cat "$d/out")"
fi
rm -rf "$d"

t_done
