#!/usr/bin/env bash
# ctest `browser`: the web client in headless chromium against heartstreamd on the demo model.
# Usage: browser_e2e.sh HEARTSTREAM_CLI HEARTSTREAMD WEB_DIR OUT_DIR
# Exits 77 (ctest: skipped) with a message when chromium or the npm packages are missing.
set -euo pipefail
cli="$1" daemon="$2" web="$3" out="$4"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [ ! -x "$chromium" ]; then echo "SKIP: $chromium not found (apt-get install chromium; .ci/setup does)"; exit 77; fi
if [ ! -d "$web/node_modules/playwright-core" ]; then echo "SKIP: run 'npm ci' in $web (.ci/setup does)"; exit 77; fi
if ! command -v node >/dev/null; then echo "SKIP: node not found"; exit 77; fi

work="$(mktemp -d)"
daemon_pid=""
cleanup() {
  if [ -n "$daemon_pid" ]; then kill "$daemon_pid" 2>/dev/null || true; wait "$daemon_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

"$cli" make-demo-model "$work/ckpt" > /dev/null
"$daemon" --model_path "$work/ckpt" --version demo --port 0 > "$work/daemon.out" 2>&1 &
daemon_pid=$!
url=""
for _ in $(seq 1 600); do  # the model loads in well under a second; allow a slow machine a minute
  url="$(grep -o 'http://[^ ]*/' "$work/daemon.out" | head -n1 || true)"
  [ -n "$url" ] && break
  kill -0 "$daemon_pid" 2>/dev/null || { cat "$work/daemon.out"; echo "heartstreamd exited"; exit 1; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$work/daemon.out"; echo "heartstreamd printed no URL"; exit 1; }
mkdir -p "$out"
cd "$web"
CHROMIUM="$chromium" node e2e/stream_e2e.mjs "$url" "$out/web_client.png"
