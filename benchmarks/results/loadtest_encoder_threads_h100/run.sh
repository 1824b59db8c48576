#!/bin/bash
# b11: heartstream_new (CLI), heartstreamd_base = f82fe68 (lockstep pacing, Opus on the worker),
# heartstreamd_enc = 3a0e75f (Opus on the encoder threads), heartstreamd_new = + warm-up (auto: 64 songs) and
# admission without settling within the sizes measured lately
set -u
T0=$(date +%s); el() { echo $(( $(date +%s) - T0 )); }
mkdir -p b && tar -C b -xJf .devbundle/b11.tar.xz
export LD_LIBRARY_PATH=$PWD/b/lib:/usr/local/cuda/lib64 HEARTSTREAM_SHARED_DIR=$PWD/b/shared
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv | tee $OUT/gpu.txt; nproc | tee -a $OUT/gpu.txt
b/bin/heartstream_new make-demo-model /tmp/ck --shapes 3B > $OUT/make_demo_model.log 2>&1; echo rc=$? >> $OUT/make_demo_model.log
tail -1 $OUT/make_demo_model.log; echo "$(el) s checkpoint"
L=benchmarks/results/ttfa_300_h100/lyrics300.txt
timeout 60 b/bin/heartstream_new generate --model_path /tmp/ck --version 3B --device cuda \
  --tags 'pop, piano, female vocals, upbeat, synth' --lyrics $L --seed 1 --precision fp8 --kv_cache fp8 \
  --stream --save_path /tmp/s.opus --max_audio_length_ms 240000 > $OUT/song240_kvfp8.log 2>&1; echo rc=$? >> $OUT/song240_kvfp8.log
echo "$(el) s song240 kv fp8: $(grep -E 'time to first audio|real-time factor|peak device|rc=' $OUT/song240_kvfp8.log | tr '\n' ' ')"
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
  echo "$(el) s daemon $1 headroom $2 ready: $(grep -E 'warm-up' $OUT/daemon_$1_$2.log)"
}
lt() {  # name sessions ramp
  (cd $OUT && timeout 150 $OLDPWD/b/bin/heartstream_new loadtest --url ws://127.0.0.1:18090 --sessions $2 --ramp-s $3 \
     --length-ms 60000 --seed 1 --out $1.json > $1.txt 2>&1); sed -n 2,8p $OUT/$1.txt
  python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:18090/metrics').read().decode())" > $OUT/$1.metrics.txt
  grep -E "^heartstream_(encode_round|encode|encode_wait|codec_round|round|queue_wait|first_frame|first_chunk)_seconds_(sum|count)|^heartstream_round_songs_(sum|count)" $OUT/$1.metrics.txt | tr '\n' ' '; echo
  echo "$(el) s $1 done"
}
stop() { kill $D; wait $D; }
daemon new 0.8; lt new_cold 64 1; lt new_warm 64 1; stop
[ $(el) -lt 300 ] && { daemon enc 0.8; lt enc_cold 64 1; stop; }
[ $(el) -lt 380 ] && { daemon new off; lt new_off_n96 96 2; stop; }
echo "$(el) s end"
