#!/usr/bin/env bash
# ctest `systemd`: etc/heartstreamd.service passes `systemd-analyze verify` without one diagnostic
# (an unknown key, a key in the wrong section or a bad value is only a warning there, so any output
# fails), with ExecStart pointing at the built daemon (verify checks that the binary exists), and
# stops no sooner than the daemon's drain allows.
# Usage: systemd_unit_test.sh UNIT HEARTSTREAMD CONFIG_YAML
# Exits 77 (ctest: skipped) without systemd-analyze.
set -euo pipefail
unit="$1" daemon="$2" config="$3"
if ! command -v systemd-analyze >/dev/null; then echo "SKIP: systemd-analyze not found (apt-get install systemd; .ci/setup does)"; exit 77; fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
installed=/usr/local/bin/heartstreamd
grep -q "^ExecStart=$installed " "$unit" || { echo "FAIL: $unit: ExecStart does not run $installed"; exit 1; }
sed "s#^ExecStart=$installed #ExecStart=$daemon #" "$unit" > "$work/heartstreamd.service"
if ! out="$(systemd-analyze verify --man=no "$work/heartstreamd.service" 2>&1)" || [ -n "$out" ]; then
  echo "FAIL: systemd-analyze verify $unit:"; echo "$out"; exit 1
fi

# The drain (server.drain_timeout_s) plus the 5 s the daemon gives connections to take their close
# must end before systemd's SIGKILL (TimeoutStopSec).
stop_s="$(sed -n 's/^TimeoutStopSec=\([0-9]*\)s\?$/\1/p' "$unit")"
drain_s="$(sed -n 's/^ *drain_timeout_s: *\([0-9.]*\).*/\1/p' "$config")"
[ -n "$stop_s" ] || { echo "FAIL: $unit: no TimeoutStopSec in seconds"; exit 1; }
if [ -n "$drain_s" ] && ! awk -v stop="$stop_s" -v drain="$drain_s" 'BEGIN { exit !(stop > drain + 5) }'; then
  echo "FAIL: $unit: TimeoutStopSec=${stop_s}s does not outlast server.drain_timeout_s ($drain_s s in $config) + 5 s"; exit 1
fi
echo "OK: $unit verifies; TimeoutStopSec=${stop_s}s, drain ${drain_s:-(no drain_timeout_s yet)} s"
