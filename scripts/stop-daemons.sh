#!/bin/bash
# Stop the daemons that scripts/start-daemons.sh DIR started, by their recorded PIDs.
#
#   usage: sudo bash scripts/stop-daemons.sh DIR
#
# dockerd goes first because it uses containerd. Each gets SIGTERM and STOP_TIMEOUT
# seconds, then SIGKILL. A PID whose command line no longer names the daemon (the
# process is gone and the PID was reused) is not signalled. When both daemons are down,
# mounts they left under their state directories are removed. Safe to run again.
set -uo pipefail

STOP_TIMEOUT=20  # seconds per daemon
STATE_DIRS=(/run/docker /var/lib/docker /run/containerd /var/lib/containerd)

log() { printf 'stop-daemons: %s\n' "$*" >&2; }

dir=${1:?usage: stop-daemons.sh DIR}
status=0

# Stop the process recorded in DIR/NAME.pid if its command line still starts with EXE.
stop_recorded() {
  local name=$1 exe=$2 pidfile="$dir/$1.pid" pid cmd i
  [ -f "$pidfile" ] || { log "$name: no $pidfile, nothing to stop"; return 0; }
  pid=$(cat "$pidfile")
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
  if [ "${cmd%% *}" != "$exe" ]; then
    log "$name: pid $pid is not running $exe any more"
    rm -f "$pidfile"
    return 0
  fi
  kill -TERM "$pid"
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name: pid $pid still running after ${STOP_TIMEOUT} s, sending SIGKILL"
    kill -KILL "$pid"
    status=1
  fi
  log "$name: pid $pid stopped"
  rm -f "$pidfile"
}

daemon_running() {
  local pid
  for pid in $(pgrep -x "$1" || true); do
    return 0
  done
  return 1
}

# A daemon killed mid-work can leave network namespace, shm and overlay mounts under
# its state directories. They are removed deepest first so the directories can be deleted.
unmount_leftovers() {
  local prefix mountpoint
  if daemon_running dockerd || daemon_running containerd; then
    log "a dockerd or containerd is still running; leaving its mounts alone"
    return
  fi
  for prefix in "${STATE_DIRS[@]}"; do
    awk -v p="$prefix" '$5 == p || index($5, p "/") == 1 { print $5 }' /proc/self/mountinfo
  done | sort -r -u | while read -r mountpoint; do
    umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" || status=1
    log "unmounted $mountpoint"
  done
}

stop_recorded dockerd /usr/sbin/dockerd
stop_recorded containerd /usr/bin/containerd
unmount_leftovers
exit "$status"
