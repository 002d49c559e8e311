# gdb script: peak resident set of a short-lived program, in KiB.
# The kernel's own counters (ru_maxrss, VmHWM) are batched per CPU and read
# 0 for a process as small as daxbus, so stop the program wherever memory can
# go away (munmap, brk, exit) and read the exact Rss from smaps_rollup.
import gdb

gdb.execute("set pagination off")
gdb.execute("set confirm off")
gdb.execute("catch syscall munmap brk exit_group exit")
peak = 0
gdb.execute("run", to_string=True)
while True:
    pid = gdb.selected_inferior().pid
    if pid == 0:
        break
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Rss:"):
                    peak = max(peak, int(line.split()[1]))
    except OSError:
        pass
    try:
        gdb.execute("continue", to_string=True)
    except gdb.error:
        break
print("PEAK_RSS_KIB %d" % peak)
