#!/bin/bash
# b13: bin/{heartstream,heartstreamd,test_gpu,bench_codec_cuda} at cc9130d (q/k/v narrow),
# bin/bench_codec_cuda_base at 166034c (q/k/v fp32). Arg 1: seconds available.
set -u
LIMIT=${1:-590}
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
mkdir -p b && tar -C b -xJf .devbundle/b13.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
export HEARTSTREAM_SHARED_DIR=$PWD/b/shared
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $OUT/gpu.txt; nproc | tee -a $OUT/gpu.txt
# the checkpoint in the background while tests and benchmarks run
(b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $OUT/make_demo_model.log 2>&1; echo rc=$? >> $OUT/make_demo_model.log) &
MK=$!
b/bin/test_gpu --gtest_filter='*Flash*:*Codec*:*Dit*:Fp8Inputs*:*Estimator*:*Attention*' > $OUT/test_gpu.log 2>&1; echo "test rc=$?"
grep -E "^\[  (PASSED|FAILED) |FAILED|L2|l2" $OUT/test_gpu.log | head -20; echo "$(el) s tests"
F='BM_CodecBatchChunk/precision:2/songs:(16|32)$|BM_StreamingChunk/precision:2/chunk:16$|BM_EstimatorStep/precision:2/frames:744$'
for r in 1 2 3; do for v in base new; do
  bin=b/bin/bench_codec_cuda; [ $v = base ] && bin=b/bin/bench_codec_cuda_base
  $bin --benchmark_filter="$F" --benchmark_out=$OUT/bench_${v}_$r.json --benchmark_out_format=json 2>&1 | grep -E "^BM_" | sed "s/^/$v $r /"
done; [ $(el) -gt $((LIMIT-420)) ] && break; done
echo "$(el) s bench"
wait $MK; tail -1 $OUT/make_demo_model.log; echo "$(el) s checkpoint"
D=0
daemon() {  # headroom
  cat > /tmp/d.yaml <<Y
server: {port: 18090, max_sessions: 256, queue_limit: 256, max_connections_per_address: 512, realtime_headroom: $1}
model: {path: /tmp/ck, version: 3B, precision: fp8, device: cuda}
generation: {max_audio_length_ms: 60000}
streaming: {chunk_frames: 16}
Y
  b/bin/heartstreamd --config /tmp/d.yaml > $OUT/daemon_$1_$2.log 2>&1 &
  D=$!
  for i in $(seq 240); do python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:18090/readyz', timeout=2)" 2>/dev/null && break; sleep 0.5; done
  echo "$(el) s daemon headroom $1 ready"
}
lt() {  # name sessions ramp
  (cd $OUT && timeout 160 $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions $2 --ramp-s $3 \
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
[ $(el) -lt $((LIMIT-100)) ] && { daemon off b64; lt b64off 64 1; stop; }
[ $(el) -lt $((LIMIT-100)) ] && { daemon 0.8 b64; lt b64h 64 1; stop; }
[ $(el) -lt $((LIMIT-110)) ] && { daemon off r96; lt r96off 96 20; stop; }
echo "$(el) s end"
