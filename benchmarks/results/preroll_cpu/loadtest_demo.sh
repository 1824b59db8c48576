#!/bin/bash
# loadtest_demo.sh NAME DAEMON SONGS [EXTRA_SERVER_YAML]: one daemon on the demo model (run where
# `heartstream make-demo-model demo-model` wrote it, heartstream on PATH), a loadtest of SONGS songs
# of 20 s started over 1 s; writes NAME.yaml, NAME.json, NAME.txt, NAME.daemon.log here.
# EXTRA_SERVER_YAML: e.g. ", realtime_headroom: off".
n=$1; d=$2; s=$3; extra=${4:-}
cat > $n.yaml <<Y
server: {port: 18091, max_sessions: 64, queue_limit: 64 $extra}
model: {path: demo-model, version: demo}
generation: {max_audio_length_ms: 20000}
Y
$d --config $n.yaml > $n.daemon.log 2>&1 &
D=$!
for i in $(seq 60); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18091/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
heartstream loadtest --url ws://127.0.0.1:18091 --sessions $s --ramp-s 1 --length-ms 20000 --seed 1 --out $n.json > $n.txt 2>&1
sed -n 2,8p $n.txt
kill $D; wait $D
