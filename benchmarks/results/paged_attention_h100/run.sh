#!/bin/bash
# b30: heartstreamd, heartstream, test_gpu, bench_lm_cuda, bench_codec_cuda with the paged attention
# kernel of this tree (half-warp per key, vector loads), and heartstreamd_base / bench_lm_cuda_base
# at 715715b. Steps, each only if the time left allows: correct (test_gpu's attention and batch
# tests), micro (BM_AttentionPaged base / new / base / new, BM_CopyBandwidth), step (BM_BatchStep
# fp8 at 64 and 128 songs, bf16 and fp8 KV: base / new), tests (the whole test_gpu), nN / bN (N songs
# of 60 s within 2 s, chunk_frames 32, first chunk 16, headroom off: new / base daemon), fc16 (64
# songs within 1 s, first chunk 16, headroom 0.8, new daemon).
# Usage: r30.sh SECONDS STEP...
set -u
LIMIT=$1; shift
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
[ -d b ] || tar -xJf .devbundle/b30.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
export HEARTSTREAM_SHARED_DIR=$PWD/b/shared
R=$OUT/r30; mkdir -p $R
pack() { tar -C $OUT -cJf $OUT/r30.tar.xz r30; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt; nproc | tee -a $R/gpu.txt
MK=0
[ -f /tmp/ck/done ] || { (b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $R/make_demo_model.log 2>&1; echo rc=$? >> $R/make_demo_model.log; touch /tmp/ck/done) & MK=$!; }
ck() { [ $MK != 0 ] && { wait $MK; tail -1 $R/make_demo_model.log; echo "$(el) s checkpoint"; MK=0; }; }
D=0
metrics() { python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $1; }
BIN=heartstreamd
daemon() {  # tag max_sessions headroom chunk_frames first_chunk_frames
  ck
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
  echo "$(el) s daemon $1 ($BIN) $(tr '\n' ' ' < $R/$1.ready.txt)"
}
lt() {  # tag sessions ramp_s
  (cd $R && timeout $((LIMIT-$(el)-10)) $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions $2 \
     --ramp-s $3 --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,9p $R/$1.txt
  metrics $R/$1.metrics.txt; nvidia-smi --query-gpu=memory.used --format=csv,noheader >> $R/$1.ready.txt
  echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; pack; }
left() { [ $(( LIMIT - $(el) )) -ge $1 ]; }
bench() {  # tag binary filter
  b/bin/$2 --benchmark_filter="$3" --benchmark_min_time=0.2 > $R/$1.txt 2>&1; echo "rc=$?" >> $R/$1.txt
  grep -E "^BM_|rc=" $R/$1.txt | sed 's/  */ /g' | cut -c 1-150; echo "$(el) s $1"
}
for step in "$@"; do
  case $step in
    correct) b/bin/test_gpu --gtest_filter='PagedOpsCuda.*:MulaBatchCuda.*:*ttention*' > $R/test_attention.log 2>&1; echo "rc=$?" >> $R/test_attention.log
             grep -E "^\[       OK|^\[  FAILED|^\[  PASSED|rc=" $R/test_attention.log; echo "$(el) s correct"; pack ;;
    micro) for k in 1 2; do bench micro_base$k bench_lm_cuda_base BM_AttentionPaged; bench micro_new$k bench_lm_cuda BM_AttentionPaged; done
           bench copy bench_codec_cuda BM_CopyBandwidth; pack ;;
    step) ck; for k in 1 2; do left 150 && { bench step_base$k bench_lm_cuda_base 'BM_BatchStep/precision[^/]*:2/songs:(64|128)/'
                                           bench step_new$k bench_lm_cuda 'BM_BatchStep/precision[^/]*:2/songs:(64|128)/'; }; done; pack ;;
    tests) b/bin/test_gpu > $R/test_gpu.log 2>&1; echo "rc=$?" >> $R/test_gpu.log
           grep -E "tests from .* ran|^\[  PASSED|^\[  FAILED|rc=" $R/test_gpu.log; echo "$(el) s tests"; pack ;;
    n*) n=${step#n}; BIN=heartstreamd; left 115 && { daemon $step $n off 32 16; lt $step $n 2; stop; } ;;
    b*) n=${step#b}; BIN=heartstreamd_base; left 115 && { daemon $step $n off 32 16; lt $step $n 2; stop; }; BIN=heartstreamd ;;
    fc16) left 110 && { daemon fc16 256 0.8 16 16; lt fc16_b64 64 1; stop; } ;;
  esac
done
echo "$(el) s end"; pack
