#!/usr/bin/env bash
# Removes the EdgeLlm node service that install.sh installed:
#
#   sudo systemd/uninstall.sh [--purge]
#
# Stops and disables edgellm.service and removes the unit, the GPIO drop-in and /opt/edgellm. The board's
# configuration (/etc/edgellm, drop-ins of its own such as `systemctl edit`'s override.conf), its models
# (/var/lib/edgellm) and the edgellm user stay for a later install, unless --purge removes them too.
set -euo pipefail

readonly unit_dir=/etc/systemd/system
readonly unit=edgellm.service

say() { echo "uninstall.sh: $*"; }
usage() { echo "usage: $0 [--purge]" >&2; exit 2; }

purge=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    *) usage ;;
  esac
done
if [ "$(id -u)" -ne 0 ]; then
  echo "uninstall.sh: run as root (sudo $0 $*)" >&2
  exit 1
fi

if [ -e "$unit_dir/$unit" ]; then
  if [ -d /run/systemd/system ]; then
    systemctl disable --now "$unit"
    say "stopped and disabled $unit"
  else
    systemctl disable "$unit"
    say "disabled $unit"
  fi
fi

rm -f "$unit_dir/$unit" "$unit_dir/$unit.d/gpio.conf"
if $purge; then
  rm -rf "$unit_dir/$unit.d"
else
  rmdir --ignore-fail-on-non-empty "$unit_dir/$unit.d" 2>/dev/null || true
fi
say "removed $unit_dir/$unit and its GPIO drop-in"
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  systemctl reset-failed "$unit" 2>/dev/null || true
fi

rm -rf /opt/edgellm /var/cache/edgellm
say "removed /opt/edgellm"

if $purge; then
  rm -rf /etc/edgellm /var/lib/edgellm
  if getent passwd edgellm >/dev/null; then
    userdel edgellm
  fi
  say "purged /etc/edgellm, /var/lib/edgellm (models included) and the user edgellm"
else
  say "kept /etc/edgellm, /var/lib/edgellm and the user edgellm (--purge removes them)"
fi
