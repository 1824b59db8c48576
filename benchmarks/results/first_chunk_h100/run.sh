#!/bin/bash
# b25: heartstream (3aec7b7), test_gpu (a6c050b), heartstreamd_fc (bc992ad: start-up graphs prepared,
# streaming.first_chunk_frames), heartstreamd_diag (3aec7b7, rounds over 60 ms logged with their
# parts), heartstreamd_prediag (the same plus start-up graphs prepared). test_gpu, then 64 songs of
# 60 s within 1 s on fresh daemons at headroom 0.8: fc (first chunk 4), base, fc (first chunk 16),
# prediag. Arg 1: seconds available.
set -u
LIMIT=${1:-560}
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
tar -xJf .devbundle/b25.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
export HEARTSTREAM_SHARED_DIR=$PWD/b/shared
R=$OUT/r25; mkdir -p $R
pack() { tar -C $OUT -cJf $OUT/r25.tar.xz r25; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt; nproc | tee -a $R/gpu.txt
(b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $R/make_demo_model.log 2>&1; echo rc=$? >> $R/make_demo_model.log) &
MK=$!
b/bin/test_gpu > $R/test_gpu.log 2>&1; echo "rc=$?" >> $R/test_gpu.log
grep -E "tests from .* ran|^\[  PASSED|^\[  FAILED|rc=" $R/test_gpu.log; echo "$(el) s tests"; pack
wait $MK; tail -1 $R/make_demo_model.log; echo "$(el) s checkpoint"
D=0
metrics() { python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $1; }
daemon() {  # binary-suffix tag [first_chunk_frames]
  cat > /tmp/d.yaml <<Y
server: {port: 18090, max_sessions: 256, queue_limit: 256, max_connections_per_address: 512, realtime_headroom: 0.8}
model: {path: /tmp/ck, version: 3B, precision: fp8, device: cuda}
generation: {max_audio_length_ms: 60000}
streaming: {chunk_frames: 16${3:+, first_chunk_frames: $3}}
Y
  cp /tmp/d.yaml $R/$2.yaml
  local t=$(date +%s.%N)
  b/bin/heartstreamd_$1 --config /tmp/d.yaml > $R/daemon_$2.log 2>&1 &
  D=$!
  for i in $(seq 360); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18090/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
  echo "ready after $(python3 -c "import time; print(round(time.time() - $t, 1))") s" > $R/$2.ready.txt
  nvidia-smi --query-gpu=memory.used --format=csv >> $R/$2.ready.txt
  metrics $R/$2.ready.metrics.txt
  echo "$(el) s daemon $2 $(cat $R/$2.ready.txt | tr '\n' ' ') $(grep -h 'prepared' $R/daemon_$2.log | cut -c 1-200)"
}
lt() {  # tag
  (cd $R && timeout 100 $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions 64 --ramp-s 1 \
     --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 1,8p $R/$1.txt
  metrics $R/$1.metrics.txt
  nvidia-smi --query-gpu=memory.used --format=csv,noheader >> $R/$1.ready.txt
  echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; pack; }
run() { [ $(el) -lt $((LIMIT-90)) ] && { daemon "$@"; lt $2; stop; }; }
run fc fc4
run diag base
run fc fc16 16
run prediag pre
echo "$(el) s end"; pack
