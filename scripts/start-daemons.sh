#!/bin/bash
# Start containerd and then dockerd by hand, for a machine without an init system.
#
#   usage: sudo bash scripts/start-daemons.sh DIR
#
# DIR receives each daemon's log and the PID that scripts/stop-daemons.sh DIR stops.
# dockerd runs without touching host networking (no bridge, no iptables or forwarding
# changes), which leaves only "none" and "host" networks: all the probe needs. It uses
# the standalone containerd, so docker's images live in containerd namespace "moby".
# Safe to run again: a daemon that already responds is left as it is.
set -euo pipefail

CONTAINERD_SOCKET=/run/containerd/containerd.sock
DOCKER_SOCKET=/var/run/docker.sock
READY_TIMEOUT=30  # seconds per daemon

log() { printf 'start-daemons: %s\n' "$*" >&2; }

dir=${1:?usage: start-daemons.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

containerd_responds() {
  ctr --address "$CONTAINERD_SOCKET" version >/dev/null 2>&1
}

dockerd_responds() {
  docker -H "unix://$DOCKER_SOCKET" version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# Poll CHECK every 0.1 s until it succeeds, the process PID exits, or READY_TIMEOUT passes.
wait_until_ready() {
  local name=$1 pid=$2 check=$3 i
  for ((i = 0; i < READY_TIMEOUT * 10; i++)); do
    if "$check"; then
      log "$name (pid $pid) responds"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      log "$name exited during start; last lines of $dir/$name.log:"
      tail -n 20 "$dir/$name.log" >&2
      return 1
    fi
    sleep 0.1
  done
  log "$name (pid $pid) did not respond within ${READY_TIMEOUT} s; see $dir/$name.log"
  return 1
}

start_containerd() {
  if containerd_responds; then
    log "containerd already responds on $CONTAINERD_SOCKET; not starting another"
    return
  fi
  nohup /usr/bin/containerd --config /etc/containerd/config.toml \
    --address "$CONTAINERD_SOCKET" >"$dir/containerd.log" 2>&1 </dev/null &
  echo $! >"$dir/containerd.pid"
  wait_until_ready containerd "$!" containerd_responds
}

start_dockerd() {
  if dockerd_responds; then
    log "dockerd already responds on $DOCKER_SOCKET; not starting another"
    return
  fi
  nohup /usr/sbin/dockerd --host "unix://$DOCKER_SOCKET" \
    --containerd "$CONTAINERD_SOCKET" \
    --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
    --exec-opt native.cgroupdriver=cgroupfs \
    --pidfile "$dir/dockerd.daemon.pid" \
    >"$dir/dockerd.log" 2>&1 </dev/null &
  echo $! >"$dir/dockerd.pid"
  wait_until_ready dockerd "$!" dockerd_responds
}

start_containerd
start_dockerd
