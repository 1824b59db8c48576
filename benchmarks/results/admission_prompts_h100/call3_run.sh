#!/bin/bash
# b13: bin/{heartstream,heartstreamd,test_gpu,bench_codec_cuda} at cc9130d, bench_codec_cuda_base at 166034c.
# b15: bin/heartstreamd_new2 = cc9130d + admission growth x4, settle 8 rounds, new songs' prompts left out of the fit.
# Arg 1: seconds available.
set -u
LIMIT=${1:-590}
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
mkdir -p b && tar -C b -xJf .devbundle/b13.tar.xz && tar -C b -xJf .devbundle/b15.tar.xz
cp b/bin/heartstreamd b/bin/heartstreamd_base
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64
R=$OUT/r15; mkdir -p $R
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $R/gpu.txt; nproc | tee -a $R/gpu.txt
(b/bin/heartstream make-demo-model /tmp/ck --shapes 3B > $R/make_demo_model.log 2>&1; echo rc=$? >> $R/make_demo_model.log) &
MK=$!
wait $MK; tail -1 $R/make_demo_model.log; echo "$(el) s checkpoint"
D=0
daemon() {  # version headroom
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
  (cd $R && timeout 160 $OLDPWD/b/bin/heartstream loadtest --url ws://127.0.0.1:18090 --sessions $2 --ramp-s $3 \
     --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,8p $R/$1.txt
  python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $R/$1.metrics.txt
  grep -E "^heartstream_(codec_round|round|queue_wait|first_frame|first_chunk)_seconds_(sum|count)|^heartstream_round_songs_(sum|count)" $R/$1.metrics.txt | tr '\n' ' '; echo
  python3 - $R/$1.json <<'P'
import json, sys, collections
d = json.load(open(sys.argv[1])); s = d['songs']
at = collections.Counter(x.get('first_underrun_at_s') for x in s)
print('songs', len(s), 'stalling', sum(1 for x in s if x['underruns']), 'first stall at', dict(at))
P
  echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; }
[ $(el) -lt $((LIMIT-100)) ] && { daemon new2 0.8 b64; lt new2_b64 64 1; stop; }
[ $(el) -lt $((LIMIT-100)) ] && { daemon base 0.8 b64; lt base_b64 64 1; stop; }
[ $(el) -lt $((LIMIT-115)) ] && { daemon new2 0.8 r96; lt new2_r96 96 20; stop; }
[ $(el) -lt $((LIMIT-115)) ] && { daemon base 0.8 r96; lt base_r96 96 20; stop; }
[ $(el) -lt $((LIMIT-85)) ] && { daemon new2 0.8 b64b; lt new2_b64b 64 1; stop; }
[ $(el) -lt $((LIMIT-85)) ] && { daemon base 0.8 b64b; lt base_b64b 64 1; stop; }
echo "$(el) s end"
tar -C $OUT -cJf $OUT/r15.tar.xz r15 && rm -rf $R
