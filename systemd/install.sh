#!/usr/bin/env bash
# Installs (or updates) the EdgeLlm node as the systemd service `edgellm` from a publish folder:
#
#   sudo systemd/install.sh [--gpio] PUBLISH_DIR
#
# PUBLISH_DIR is the output of `dotnet publish src/EdgeLlm.Worker -r linux-arm64 …` (it holds the `edgellm`
# executable). The folder replaces /opt/edgellm; the system user edgellm is created once; a default
# /etc/edgellm/edgellm.json is written only when there is none; the unit goes to /etc/systemd/system and,
# with --gpio, the drop-in for GPIO buttons/LEDs and the I2C power monitor beside it. Then the service is
# enabled and (re)started. Running it again with a newer folder is the update; configuration and models stay.
set -euo pipefail

readonly prefix=/opt/edgellm
readonly config_dir=/etc/edgellm
readonly unit_dir=/etc/systemd/system
readonly unit=edgellm.service

say() { echo "install.sh: $*"; }
fail() { echo "install.sh: $*" >&2; exit 1; }
usage() { echo "usage: $0 [--gpio] PUBLISH_DIR" >&2; exit 2; }

gpio=false
publish=""
for arg in "$@"; do
  case "$arg" in
    --gpio) gpio=true ;;
    -h | --help) usage ;;
    -*) echo "install.sh: unknown option $arg" >&2; usage ;;
    *) [ -z "$publish" ] || usage; publish=$arg ;;
  esac
done
[ -n "$publish" ] || usage
[ "$(id -u)" -eq 0 ] || fail "run as root (sudo $0 $*)"
if [ ! -f "$publish/edgellm" ] || [ ! -x "$publish/edgellm" ]; then
  fail "$publish holds no executable 'edgellm': give the folder that 'dotnet publish src/EdgeLlm.Worker' wrote"
fi
here=$(cd "$(dirname "$0")" && pwd)
publish=$(cd "$publish" && pwd)
[ "$publish" != "$prefix" ] || fail "$publish is the install location itself: give the publish folder"

if ! getent passwd edgellm >/dev/null; then
  useradd --system --user-group --home-dir /var/lib/edgellm --no-create-home --shell /usr/sbin/nologin \
    --comment "EdgeLlm node" edgellm
  say "created the system user edgellm"
fi
if $gpio; then
  for group in gpio i2c; do
    if ! getent group "$group" >/dev/null; then
      groupadd --system "$group"
      say "created the group $group: give it /dev/${group/gpio/gpiochip}* with a udev rule (systemd/README.md)"
    fi
  done
fi

# The new files go into a folder beside /opt/edgellm and replace it whole, so a failed copy leaves the old
# release in place and files a release dropped do not linger. A running node keeps the files it has open.
staging=$(mktemp -d "$prefix.new.XXXXXX")
trap 'rm -rf "$staging"' EXIT
cp -R "$publish/." "$staging/"
chown -R root:root "$staging"
chmod -R u=rwX,go=rX "$staging"
rm -rf "$prefix.old"
if [ -e "$prefix" ]; then mv "$prefix" "$prefix.old"; fi
mv "$staging" "$prefix"
rm -rf "$prefix.old"
say "installed $publish as $prefix ($("$prefix/edgellm" --version 2>/dev/null || echo "version unknown"))"

# Configuration is root's and readable by the service's group; the node cannot change it.
install -d -m 0755 "$config_dir"
if [ ! -e "$config_dir/edgellm.json" ]; then
  (umask 0027 && cat >"$config_dir/edgellm.json") <<EOF
{
  // This board's settings; later files in $config_dir (name order) and EDGELLM__Section__Key
  // variables (systemctl edit edgellm) override them. Every key: docs/mqtt-front-door.md.
  "Node": {
    "Id": "$(uname -n)",
    "Tier": 0
  },
  "Mqtt": {
    // Empty: the embedded broker on 127.0.0.1:1883. The fleet's broker: "broker.example:1883"
    // (with TLS: "UseTls": true, "CaFile": "$config_dir/ca.crt").
    "Server": ""
  },
  "Models": {
    "StorePath": "/var/lib/edgellm/models"
  }
}
EOF
  chown root:edgellm "$config_dir/edgellm.json"
  say "wrote the default $config_dir/edgellm.json (Node:Id $(uname -n), embedded broker)"
else
  say "kept $config_dir/edgellm.json"
fi

install -m 0644 "$here/$unit" "$unit_dir/$unit"
say "installed $unit_dir/$unit"
if $gpio; then
  install -D -m 0644 "$here/edgellm-gpio.conf" "$unit_dir/$unit.d/gpio.conf"
  say "installed $unit_dir/$unit.d/gpio.conf (GPIO and I2C devices)"
elif [ -e "$unit_dir/$unit.d/gpio.conf" ]; then
  say "kept $unit_dir/$unit.d/gpio.conf from an earlier --gpio install (uninstall.sh removes it)"
fi

if [ ! -d /run/systemd/system ]; then
  # An image being built in a chroot: enabling works offline, starting waits for the board's first boot.
  systemctl enable "$unit"
  say "enabled $unit; systemd is not running here, so it starts on the next boot"
  exit 0
fi

systemctl daemon-reload
systemctl enable "$unit"
# No blocking restart: READY comes only once the node is subscribed on its broker, which may be down now.
# A new invocation id tells the restarted node from the one that ran before.
previous=$(systemctl show --property=InvocationID --value "$unit")
systemctl restart --no-block "$unit"
say "enabled and (re)started $unit"
state=unknown
for _ in $(seq 60); do
  sleep 1
  [ "$(systemctl show --property=InvocationID --value "$unit")" != "$previous" ] || continue
  state=$(systemctl is-active "$unit" || true)
  case "$state" in
    active) say "$unit is active: journalctl -u edgellm -f follows its log"; exit 0 ;;
    failed) fail "$unit failed to start: journalctl -u edgellm -n 50 says why" ;;
  esac
done
say "$unit is still $state after 60 s (waiting for its broker?): journalctl -u edgellm -f follows it"
