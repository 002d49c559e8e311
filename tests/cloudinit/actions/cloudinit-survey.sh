#!/bin/bash
# What cloud-init did this boot, for the cloudinit cells' report (the agent
# runs after cloud-final.service in the cloudinit root).
s=$(cloud-init status 2>&1 | sed -n 's/^status: //p')
echo "cloudinit.status=${s:-unknown}"
echo "cloudinit.boot_id=$(cat /proc/sys/kernel/random/boot_id)"
echo "cloudinit.package=$(dpkg-query -W -f '${Status} ${Version}' daxbus 2>/dev/null || echo none)"
# the errors cloud-init counted (the count, then each)
python3 - <<'PY' 2>&1
import json
try:
    errors = json.load(open("/run/cloud-init/result.json"))["v1"]["errors"]
except Exception as e:
    errors = ["result.json: %s" % e]
print("cloudinit.errors=%d" % len(errors))
for e in errors:
    print("cloudinit.error=%s" % " ".join(str(e).split()))
PY
# the runcmd's output (daxbus's own lines), as cloud-init logged it
grep -E 'daxbus|migrate|dax0' /var/log/cloud-init-output.log 2>/dev/null | sed 's/^/cloudinit.log=/' | tail -n 40
