#!/bin/bash
# b27 binaries (heartstream, heartstreamd, test_gpu at f036eb3 = code of 598474c). Steps in order of
# priority, each only if the time left allows: tests (the whole test_gpu), fc16 (64 songs of 60 s
# within 1 s, first_chunk_frames 16, headroom 0.8), nN (N songs of 60 s within 2 s, chunk_frames 32,
# first chunk 16, headroom off, max_sessions N: does every song stay real time?), fc4, r96 (96 songs
# over 2 s at first chunk 16, headroom 0.8), s0fc16 / s1fc16 / s0r96 / s1r96 (fc16 and r96 on
# heartstreamd_settle, b28: main plus HS_SETTLE_RULE: 0 = admission's 8 settle rounds, 1 = first
# chunk + 4 rounds), solo (a song alone, five times, first chunk 4 and 16).
# Usage: r28.sh SECONDS STEP...
set -u
LIMIT=$1; shift
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
[ -d b ] || tar -xJf .devbundle/b27.tar.xz
[ -f b/bin/heartstreamd_settle ] || tar -xJf .devbundle/b28.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
export HEARTSTREAM_SHARED_DIR=$PWD/b/shared
R=$OUT/r28; mkdir -p $R
pack() { tar -C $OUT -cJf $OUT/r28.tar.xz r28; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt; nproc | tee -a $R/gpu.txt
MK=0
[ -f /tmp/ck/done ] || { (b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $R/make_demo_model.log 2>&1; echo rc=$? >> $R/make_demo_model.log; touch /tmp/ck/done) & MK=$!; }
D=0
metrics() { python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $1; }
BIN=heartstreamd
daemon() {  # tag max_sessions headroom chunk_frames first_chunk_frames
  [ $MK != 0 ] && { wait $MK; tail -1 $R/make_demo_model.log; echo "$(el) s checkpoint"; MK=0; }
  cat > $R/$1.yaml <<Y
server: {port: 18090, max_sessions: $2, queue_limit: 256, max_connections_per_address: 512, realtime_headroom: $3}
model: {path: /tmp/ck, version: 3B, precision: fp8, device: cuda}
generation: {max_audio_length_ms: 60000}
streaming: {chunk_frames: $4, first_chunk_frames: $5}
Y
  local t=$(date +%s.%N)
  b/bin/$BIN --config $R/$1.yaml > $R/daemon_$1.log 2>&1 &
  D=$!
  for i in $(seq 360); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18090/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
  echo "ready after $(python3 -c "import time; print(round(time.time() - $t, 1))") s" > $R/$1.ready.txt
  nvidia-smi --query-gpu=memory.used --format=csv,noheader >> $R/$1.ready.txt
  echo "$(el) s daemon $1 $(tr '\n' ' ' < $R/$1.ready.txt) $(grep -h 'prepared' $R/daemon_$1.log | cut -c 1-160)"
}
lt() {  # tag sessions ramp_s
  (cd $R && timeout $((LIMIT-$(el)-10)) $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions $2 \
     --ramp-s $3 --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,9p $R/$1.txt
  metrics $R/$1.metrics.txt; nvidia-smi --query-gpu=memory.used --format=csv,noheader >> $R/$1.ready.txt
  echo "$(el) s $1 done"
}
solo() {  # tag: five songs of 10 s one after another
  for k in 1 2 3 4 5; do (cd $R && timeout 30 $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions 1 \
     --ramp-s 0 --length-ms 10000 --seed $k --out $1_solo$k.json > $1_solo$k.txt 2>&1); grep -i "ttfa\|first audio" $R/$1_solo$k.txt | head -2; done
}
stop() { kill $D; wait $D; pack; }
left() { [ $(( LIMIT - $(el) )) -ge $1 ]; }
for step in "$@"; do
  case $step in
    tests) b/bin/test_gpu > $R/test_gpu.log 2>&1; echo "rc=$?" >> $R/test_gpu.log
           grep -E "tests from .* ran|^\[  PASSED|^\[  FAILED|rc=" $R/test_gpu.log; echo "$(el) s tests"; pack ;;
    fc16|fc4) left 110 && { daemon $step 256 0.8 16 ${step#fc}; lt ${step}_b64 64 1; stop; } ;;
    n*) n=${step#n}; left 115 && { daemon $step $n off 32 16; lt $step $n 2; stop; } ;;
    s[01]fc16) BIN=heartstreamd_settle; export HS_SETTLE_RULE=${step:1:1}
           left 110 && { daemon $step 256 0.8 16 16; lt ${step}_b64 64 1; stop; }; BIN=heartstreamd ;;
    s[01]r96) BIN=heartstreamd_settle; export HS_SETTLE_RULE=${step:1:1}
           left 115 && { daemon $step 256 0.8 16 16; lt $step 96 2; stop; }; BIN=heartstreamd ;;
    r96) left 115 && { daemon r96 256 0.8 16 16; lt r96 96 2; stop; } ;;
    solo) left 100 && { daemon solo4 256 0.8 16 4; solo solo4; stop; }
          left 70 && { daemon solo16 256 0.8 16 16; solo solo16; stop; } ;;
  esac
done
echo "$(el) s end"; pack
