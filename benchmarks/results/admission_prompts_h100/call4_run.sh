#!/bin/bash
# b13 (bins at cc9130d, codec goldens), b15 (heartstreamd_new2: the admission change), b16 (mula goldens).
# Full test_gpu, then the 64-song burst with new2 and base. Arg 1: seconds available.
set -u
LIMIT=${1:-290}
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
mkdir -p b && for t in b13 b15 b16; do tar -C b -xJf .devbundle/$t.tar.xz; done
cp b/bin/heartstreamd b/bin/heartstreamd_base
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
export HEARTSTREAM_SHARED_DIR=$PWD/b/shared
R=$OUT/r16; mkdir -p $R
pack() { tar -C $OUT -cJf $OUT/r16.tar.xz r16; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt; nproc | tee -a $R/gpu.txt
(b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $R/make_demo_model.log 2>&1; echo rc=$? >> $R/make_demo_model.log) &
MK=$!
b/bin/test_gpu > $R/test_gpu.log 2>&1; echo "rc=$?" >> $R/test_gpu.log
grep -E "tests from .* ran|^\[  PASSED|^\[  FAILED|relative L2|rc=" $R/test_gpu.log; echo "$(el) s tests"; pack
wait $MK; tail -1 $R/make_demo_model.log; echo "$(el) s checkpoint"
D=0
daemon() {  # version headroom tag
  cat > /tmp/d.yaml <<Y
server: {port: 18090, max_sessions: 256, queue_limit: 256, max_connections_per_address: 512, realtime_headroom: $2}
model: {path: /tmp/ck, version: 3B, precision: fp8, device: cuda}
generation: {max_audio_length_ms: 60000}
streaming: {chunk_frames: 16}
Y
  b/bin/heartstreamd_$1 --config /tmp/d.yaml > $R/daemon_$1_$2_$3.log 2>&1 &
  D=$!
  for i in $(seq 240); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18090/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
  echo "$(el) s daemon $1 headroom $2 ready"
}
lt() {  # name sessions ramp
  (cd $R && timeout 100 $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions $2 --ramp-s $3 \
     --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,8p $R/$1.txt
  python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $R/$1.metrics.txt
  echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; pack; }
[ $(el) -lt $((LIMIT-80)) ] && { daemon new2 0.8 b64; lt new2_b64 64 1; stop; }
[ $(el) -lt $((LIMIT-80)) ] && { daemon base 0.8 b64; lt base_b64 64 1; stop; }
echo "$(el) s end"; pack
