#!/bin/bash
# loadtest_demo.sh NAME DAEMON SONGS: one daemon on the demo model (heartstream make-demo-model demo-model), a loadtest of
# SONGS songs of 20 s started over 1 s, then its /metrics
n=$1; d=$2; s=$3
cat > /tmp/ld_$n.yaml <<Y
server: {port: 18091, max_sessions: 64, queue_limit: 64}
model: {path: demo-model, version: demo}
generation: {max_audio_length_ms: 20000}
Y
$d --config /tmp/ld_$n.yaml > /tmp/ld_$n.daemon.log 2>&1 &
D=$!
for i in $(seq 60); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18091/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
heartstream loadtest --url ws://127.0.0.1:18091 --sessions $s --ramp-s 1 --length-ms 20000 --seed 1 --out /tmp/ld_$n.json > /tmp/ld_$n.txt 2>&1
sed -n 2,8p /tmp/ld_$n.txt
python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18091/metrics').read().decode())" > /tmp/ld_$n.metrics.txt
grep -E "^heartstream_(encode_round|encode|encode_wait|codec_round|round)_seconds_(sum|count)|^heartstream_round_songs_(sum|count)|^heartstream_codec_round_chunks_(sum|count)" /tmp/ld_$n.metrics.txt | tr '\n' ' '; echo
kill $D; wait $D
