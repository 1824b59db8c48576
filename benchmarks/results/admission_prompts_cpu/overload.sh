#!/bin/bash
# overload.sh NAME DAEMON SONGS RAMP_S [EXTRA_SERVER_YAML]: like ../preroll_cpu/loadtest_demo.sh (run where
# `heartstream make-demo-model demo-model` wrote it, heartstream on PATH), with the songs started over RAMP_S
# seconds; prints the loadtest table and which songs stalled (queued or not, and when).
n=$1; d=$2; s=$3; r=$4; extra=${5:-}
cat > $n.yaml <<Y
server: {port: 18091, max_sessions: 64, queue_limit: 64 $extra}
model: {path: demo-model, version: demo}
generation: {max_audio_length_ms: 20000}
Y
$d --config $n.yaml > $n.daemon.log 2>&1 &
D=$!
for i in $(seq 60); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18091/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
heartstream loadtest --url ws://127.0.0.1:18091 --sessions $s --ramp-s $r --length-ms 20000 --seed 1 --out $n.json > $n.txt 2>&1
sed -n 2,8p $n.txt
python3 - $n.json <<'P'
import json, sys, collections
d = json.load(open(sys.argv[1])); s = d['songs']
st=[x for x in s if x['underruns']]
print('songs', len(s), 'stalling', len(st), 'queued among stalling', sum(1 for x in st if x['queued_ms']>0), 'first stall at', dict(collections.Counter(x.get('first_underrun_at_s') for x in st)))
P
kill $D; wait $D
