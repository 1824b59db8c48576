#!/bin/bash
# b12: heartstream_new (CLI: loadtest with first_underrun_at_s), heartstreamd_base = 8ed34b1,
# heartstreamd_new = + a 1 s pre-roll for songs starting in a crowd or on a busy engine, codec calls most urgent first with
# each call's audio handed over as it ends
set -u
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
mkdir -p b && tar -C b -xJf .devbundle/b12.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $OUT/gpu.txt; nproc | tee -a $OUT/gpu.txt
b/bin/heartstream_new make-demo-model /tmp/ck --shapes 3B > $OUT/make_demo_model.log 2>&1; echo rc=$? >> $OUT/make_demo_model.log
tail -1 $OUT/make_demo_model.log; echo "$(el) s checkpoint"
D=0
daemon() {  # version headroom
  cat > /tmp/d.yaml <<Y
server: {port: 18090, max_sessions: 256, queue_limit: 256, max_connections_per_address: 512, realtime_headroom: $2}
model: {path: /tmp/ck, version: 3B, precision: fp8, device: cuda}
generation: {max_audio_length_ms: 60000}
streaming: {chunk_frames: 16}
Y
  b/bin/heartstreamd_$1 --config /tmp/d.yaml > $OUT/daemon_$1_$2.log 2>&1 &
  D=$!
  for i in $(seq 240); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18090/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
  echo "$(el) s daemon $1 headroom $2 ready"
}
lt() {  # name sessions ramp
  (cd $OUT && timeout 160 $OLDPWD/b/bin/heartstream_new loadtest --url ws://127.0.0.1:18090 --sessions $2 --ramp-s $3 \
     --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,8p $OUT/$1.txt
  python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $OUT/$1.metrics.txt
  grep -E "^heartstream_(encode|encode_wait|codec_round|round|queue_wait|first_frame|first_chunk)_seconds_(sum|count)|^heartstream_round_songs_(sum|count)|^heartstream_codec_round_chunks_sum" $OUT/$1.metrics.txt | tr '\n' ' '; echo
  python3 - $OUT/$1.json <<'P'
import json, sys, collections
d = json.load(open(sys.argv[1])); s = d['songs']
at = collections.Counter(x.get('first_underrun_at_s') for x in s)
print('songs', len(s), 'stalling', sum(1 for x in s if x['underruns']), 'first stall at', dict(at))
P
  echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; }
daemon new 0.8; lt new_b64 64 1; stop
[ $(el) -lt 190 ] && { daemon base 0.8; lt base_b64 64 1; stop; }
echo "$(el) s end"
