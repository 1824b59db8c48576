#!/bin/bash
# b34: test_gpu, bench_codec_cuda, bench_lm_cuda, heartstreamd, heartstream at 8ec8793 (main); from b32:
# test_gpu_ring / bench_lm_cuda_ring (the per-lane cp.async ring variant), bench_lm_cuda_v1 (3a44b96).
# Steps: tests (whole test_gpu), ncu (kernel times of one batched 16-song codec round), codec (the
# codec's benchmarks and ceilings), ring (ring variant's attention tests + BM_AttentionPaged v1/main/ring
# alternated), fc16 / nN (issue-12 loadtests, only on an H200).  Usage: r34.sh SECONDS STEP...
set -u
LIMIT=$1; shift
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
[ -d b ] || tar -xJf .devbundle/b34.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
export HEARTSTREAM_SHARED_DIR=$PWD/b/shared
R=$OUT/r34; mkdir -p $R
pack() { tar -C $OUT -cJf $OUT/r34.tar.xz r34; }
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt; nproc | tee -a $R/gpu.txt
H200=0; grep -q H200 $R/gpu.txt && H200=1
left() { [ $(( LIMIT - $(el) )) -ge $1 ]; }
bench() {  # tag binary filter
  b/bin/$2 --benchmark_filter="$3" --benchmark_min_time=0.2 --benchmark_out=$R/$1.json > $R/$1.txt 2>&1; echo "rc=$?" >> $R/$1.txt
  grep -E "^BM_|rc=" $R/$1.txt | sed 's/  */ /g' | cut -c 1-170; echo "$(el) s $1"
}
D=0; MK=0
metrics() { python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $1; }
daemon() {  # tag max_sessions headroom chunk_frames first_chunk_frames
  [ $MK != 0 ] && { wait $MK; tail -1 $R/make_demo_model.log; echo "$(el) s checkpoint"; MK=0; }
  cat > $R/$1.yaml <<Y
server: {port: 18090, max_sessions: $2, queue_limit: 256, max_connections_per_address: 512, realtime_headroom: $3}
model: {path: /tmp/ck, version: 3B, precision: fp8, device: cuda}
generation: {max_audio_length_ms: 60000}
streaming: {chunk_frames: $4, first_chunk_frames: $5}
Y
  b/bin/heartstreamd --config $R/$1.yaml > $R/daemon_$1.log 2>&1 & D=$!
  for i in $(seq 360); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18090/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
  echo "$(el) s daemon $1 ready"
}
lt() {  # tag sessions ramp_s
  (cd $R && timeout $((LIMIT-$(el)-10)) $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions $2 \
     --ramp-s $3 --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,9p $R/$1.txt
  metrics $R/$1.metrics.txt; echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; pack; }
[ $H200 = 1 ] && { (b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $R/make_demo_model.log 2>&1; echo rc=$? >> $R/make_demo_model.log) & MK=$!; }
for step in "$@"; do
  case $step in
    tests) b/bin/test_gpu > $R/test_gpu.log 2>&1; echo "rc=$?" >> $R/test_gpu.log
           grep -E "tests from .* ran|^\[  PASSED|^\[  FAILED|rc=" $R/test_gpu.log; echo "$(el) s tests"; pack ;;
    ncu) left 150 && { timeout $((LIMIT-$(el)-60)) ncu --clock-control none --launch-skip 9000 --launch-count 8000 --metrics gpu__time_duration.sum --csv \
           b/bin/bench_codec_cuda --benchmark_filter='BM_CodecBatchChunk/precision:2/songs:16/' > $R/ncu_codec16.csv 2> $R/ncu_codec16.err
           echo "rc=$? $(wc -l < $R/ncu_codec16.csv) lines"; echo "$(el) s ncu"; pack; } ;;
    codec) left 90 && bench codec bench_codec_cuda 'BM_CodecBatchChunk/precision:2/songs:(16|32)/|BM_ScalarDecoder/precision:2|BM_EstimatorStep/precision:2/frames:744/|BM_GemmCeiling/precision:2|BM_CopyBandwidth'; pack ;;
    ring) left 90 && { b/bin/test_gpu_ring --gtest_filter='PagedOpsCuda.*:MulaBatchCuda.*:*ttention*' > $R/ring_tests.log 2>&1; echo "rc=$?" >> $R/ring_tests.log
            grep -E "^\[  FAILED|^\[  PASSED|rc=" $R/ring_tests.log
            for k in 1 2; do for v in bench_lm_cuda_v1 bench_lm_cuda bench_lm_cuda_ring; do bench micro_${v}_$k $v 'BM_AttentionPaged|BM_CopyBandwidth'; done; done; pack; } ;;
    fc16) [ $H200 = 1 ] && left 110 && { daemon fc16 256 0.8 16 16; lt fc16_b64 64 1; stop; } ;;
    n*) n=${step#n}; [ $H200 = 1 ] && left 115 && { daemon $step $n off 32 16; lt $step $n 2; stop; } ;;
  esac
done
echo "$(el) s end"; pack
