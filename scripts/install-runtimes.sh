#!/bin/bash
# Install Podman, the Docker engine and containerd from Debian 12 packages, plus the C
# toolchain that `image build` needs, and configure Podman for this kind of machine.
#
#   usage: sudo bash scripts/install-runtimes.sh
#
# Starts no daemon (scripts/start-daemons.sh does that). Safe to run again: packages
# already present are not reinstalled and containers.conf is only rewritten when its
# computed content changes. Needs root and apt access to the Debian archive.
set -euo pipefail

PACKAGES=(podman runc uidmap docker.io containerd gcc libc6-dev busybox-static)
CONTAINERS_CONF=/etc/containers/containers.conf
POLICY=/usr/sbin/policy-rc.d

log() { printf 'install-runtimes: %s\n' "$*" >&2; }

if [ "$(id -u)" -ne 0 ]; then
  log "must run as root (apt-get and /etc/containers need it)"
  exit 1
fi

missing_packages() {
  local pkg status
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [ "$status" = installed ] || printf '%s\n' "$pkg"
  done
}

# Package scripts must not start dockerd or containerd: a daemon started that way would
# bring up the docker0 bridge and NAT rules. A policy-rc.d that exits 101 denies every
# service start. An existing policy file belongs to the machine and is left alone.
install_packages() {
  if [ ! -e "$POLICY" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY"
    chmod 0755 "$POLICY"
    trap 'rm -f "$POLICY"' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# Two fixes make rootful Podman run containers here:
# - crun refuses the hybrid cgroup layout (a cgroup2 mount beside v1 controllers),
#   so the runtime is runc;
# - Podman requests RLIMIT_NOFILE and RLIMIT_NPROC above the hard limits, and raising
#   a hard limit needs CAP_SYS_RESOURCE, so both limits are pinned to what this shell
#   may set. Podman first lowers its own NPROC to kernel.pid_max, hence the min().
write_containers_conf() {
  local nofile nproc pid_max wanted
  nofile=$(ulimit -Hn)
  nproc=$(ulimit -Hu)
  pid_max=$(cat /proc/sys/kernel/pid_max)
  [ "$nofile" = unlimited ] && nofile=1048576
  [ "$nproc" = unlimited ] && nproc=$pid_max
  [ "$nproc" -gt "$pid_max" ] && nproc=$pid_max
  wanted=$(printf '%s\n' \
    "# Written by wfc_container scripts/install-runtimes.sh for this machine." \
    "[containers]" \
    "default_ulimits = [\"nofile=${nofile}:${nofile}\", \"nproc=${nproc}:${nproc}\"]" \
    "" \
    "[engine]" \
    "runtime = \"runc\"" \
    "cgroup_manager = \"cgroupfs\"" \
    "events_logger = \"file\"")
  if [ -f "$CONTAINERS_CONF" ] && [ "$(cat "$CONTAINERS_CONF")" = "$wanted" ]; then
    log "$CONTAINERS_CONF already up to date"
    return
  fi
  if [ -f "$CONTAINERS_CONF" ] && ! grep -q '^# Written by wfc_container' "$CONTAINERS_CONF"; then
    cp -p "$CONTAINERS_CONF" "$CONTAINERS_CONF.before-wfc"
    log "kept the previous file as $CONTAINERS_CONF.before-wfc"
  fi
  mkdir -p "$(dirname "$CONTAINERS_CONF")"
  printf '%s\n' "$wanted" >"$CONTAINERS_CONF"
  log "wrote $CONTAINERS_CONF (nofile=$nofile nproc=$nproc runtime=runc)"
}

# dpkg does not bring back a configuration file an administrator deleted, and
# podman refuses to load or run images without its signature policy file.
restore_missing_configs() {
  local file package
  for file in /etc/containers/policy.json /etc/containers/registries.conf; do
    [ -e "$file" ] && continue
    package=$(dpkg-query -S "$file" 2>/dev/null | cut -d: -f1)
    [ -n "$package" ] || continue
    log "restoring $file from $package"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall \
      -o Dpkg::Options::=--force-confmiss "$package" >/dev/null
  done
}

main() {
  local -a missing
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -eq 0 ]; then
    log "all packages already installed"
  else
    log "installing: ${missing[*]}"
    install_packages "${missing[@]}"
  fi
  restore_missing_configs
  write_containers_conf
  log "versions: $(dpkg-query -W -f='${Package}=${Version} ' "${PACKAGES[@]}")"
}

main "$@"
