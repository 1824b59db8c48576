// heartstream web client: sends a `generate` over WebSocket /v1/stream (docs/protocol.md), decodes
// the Opus packets with WebCodecs' AudioDecoder, plays them through an AudioWorklet, draws the
// waveform, and offers the finished song as a WAV download. `window.hsStats` exposes counters
// for the end-to-end test.
'use strict';

const SAMPLE_RATE = 48000;
const CHANNELS = 2;
const PACKET_US = 20000;  // every packet is 20 ms

const $ = (id) => document.getElementById(id);
const stats = { state: 'idle', packets: 0, decodedFrames: 0, decodedSamples: 0, sumSquares: 0, rms: 0,
                ttfaMs: null, rtf: null, audioMs: 0, underruns: 0, error: null, done: null };
window.hsStats = stats;

let socket = null;
let decoder = null;
let audio = null;   // { context, node }
let pcm = [];       // [{left, right}] of the whole song, for the download
let lastChunk = null;

// RFC 7845 identification header: WebCodecs' description for Opus.
function opusHead(preSkip) {
  const head = new Uint8Array(19);
  head.set(new TextEncoder().encode('OpusHead'));
  const view = new DataView(head.buffer);
  view.setUint8(8, 1);                  // version
  view.setUint8(9, CHANNELS);
  view.setUint16(10, preSkip, true);
  view.setUint32(12, SAMPLE_RATE, true);
  view.setInt16(16, 0, true);           // output gain
  view.setUint8(18, 0);                 // mapping family
  return head;
}

async function startAudio() {
  if (!audio) {
    const context = new AudioContext({ sampleRate: SAMPLE_RATE, latencyHint: 'playback' });
    await context.audioWorklet.addModule('player-worklet.js');
    const node = new AudioWorkletNode(context, 'pcm-player', { outputChannelCount: [CHANNELS] });
    node.port.onmessage = (e) => { stats.underruns = e.data.underruns; };
    node.connect(context.destination);
    audio = { context, node };
  }
  audio.node.port.postMessage('reset');
  await audio.context.resume();
}

function onDecoded(data) {
  const frames = data.numberOfFrames;
  const left = new Float32Array(frames);
  const right = new Float32Array(frames);
  data.copyTo(left, { planeIndex: 0, format: 'f32-planar' });
  data.copyTo(right, { planeIndex: data.numberOfChannels > 1 ? 1 : 0, format: 'f32-planar' });
  data.close();
  for (let i = 0; i < frames; i++) stats.sumSquares += left[i] * left[i] + right[i] * right[i];
  stats.decodedFrames += 1;
  stats.decodedSamples += frames;
  stats.rms = Math.sqrt(stats.sumSquares / (2 * stats.decodedSamples));
  pcm.push({ left, right });
  lastChunk = left;
  audio.node.port.postMessage({ left: left.slice(), right: right.slice() });
}

function makeDecoder(preSkip) {
  const d = new AudioDecoder({
    output: onDecoded,
    error: (e) => fail('decoder: ' + e.message),
  });
  d.configure({ codec: 'opus', sampleRate: SAMPLE_RATE, numberOfChannels: CHANNELS, description: opusHead(preSkip) });
  return d;
}

function request() {
  const msg = {
    type: 'generate',
    tags: $('tags').value,
    lyrics: $('lyrics').value,
    max_audio_length_ms: Number($('length').value),
    temperature: Number($('temperature').value),
    topk: Number($('topk').value),
    cfg_scale: Number($('cfg').value),
  };
  if ($('seed').value !== '') msg.seed = Number($('seed').value);
  return msg;
}

function status(text) { $('status').textContent = text; }

function fail(message) {
  stats.error = message;
  stats.state = 'error';
  status('Error: ' + message);
  setRunning(false);
}

function setRunning(running) {
  $('start').disabled = running;
  $('stop').disabled = !running;
}

function onMessage(event) {
  if (event.data instanceof ArrayBuffer) {
    decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: stats.packets * PACKET_US, duration: PACKET_US,
                                           data: event.data }));
    stats.packets += 1;
    return;
  }
  const msg = JSON.parse(event.data);
  if (msg.type === 'queued') {
    stats.state = 'queued';
    status(`Queued (position ${msg.position}): waiting for the daemon to have room…`);
  } else if (msg.type === 'started') {
    decoder = makeDecoder(msg.pre_skip);
    stats.state = 'streaming';
    status(`Started song ${msg.id} (seed ${msg.seed})…`);
  } else if (msg.type === 'progress') {
    stats.audioMs = msg.audio_ms;
    stats.rtf = msg.rtf;
    status(`${(msg.audio_ms / 1000).toFixed(1)} s generated · real-time factor ${msg.rtf.toFixed(3)}`);
  } else if (msg.type === 'done' && stats.state === 'queued') {  // stopped before it started: no audio
    stats.done = msg;
    stats.state = 'done';
    status('Cancelled while queued');
    setRunning(false);
  } else if (msg.type === 'done') {
    stats.done = msg;
    stats.ttfaMs = msg.ttfa_ms;
    stats.rtf = msg.rtf;
    stats.audioMs = msg.audio_ms;
    decoder.flush().then(() => { stats.state = 'done'; offerDownload(); });
    status(`Done (${msg.reason}): ${(msg.audio_ms / 1000).toFixed(1)} s of audio · time to first audio ` +
           `${msg.ttfa_ms.toFixed(0)} ms · real-time factor ${msg.rtf.toFixed(3)}`);
    setRunning(false);
  } else if (msg.type === 'error') {
    fail(`${msg.code}: ${msg.message}`);
  }
}

async function start() {
  setRunning(true);
  Object.assign(stats, { state: 'connecting', packets: 0, decodedFrames: 0, decodedSamples: 0, sumSquares: 0, rms: 0,
                         ttfaMs: null, rtf: null, audioMs: 0, error: null, done: null });
  pcm = [];
  $('download').hidden = true;
  try {
    await startAudio();
  } catch (e) {
    return fail('audio: ' + e.message);
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const token = $('token').value;
  const url = `${scheme}//${location.host}/v1/stream` + (token ? `?token=${encodeURIComponent(token)}` : '');
  socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  socket.onopen = () => socket.send(JSON.stringify(request()));
  socket.onmessage = onMessage;
  socket.onclose = (e) => { if (stats.state === 'streaming' || stats.state === 'connecting') fail(`connection closed (${e.code} ${e.reason})`); };
  socket.onerror = () => status('WebSocket error');
}

function stop() {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'cancel' }));
}

// 16-bit PCM WAV of everything decoded so far.
function wavBlob() {
  const frames = pcm.reduce((n, c) => n + c.left.length, 0);
  const buffer = new ArrayBuffer(44 + frames * CHANNELS * 2);
  const v = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) v.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, 'RIFF'); v.setUint32(4, 36 + frames * 4, true); text(8, 'WAVE');
  text(12, 'fmt '); v.setUint32(16, 16, true); v.setUint16(20, 1, true); v.setUint16(22, CHANNELS, true);
  v.setUint32(24, SAMPLE_RATE, true); v.setUint32(28, SAMPLE_RATE * CHANNELS * 2, true);
  v.setUint16(32, CHANNELS * 2, true); v.setUint16(34, 16, true);
  text(36, 'data'); v.setUint32(40, frames * CHANNELS * 2, true);
  let o = 44;
  const s16 = (x) => Math.max(-32768, Math.min(32767, Math.round(x * 32767)));
  for (const c of pcm) for (let i = 0; i < c.left.length; i++, o += 4) {
    v.setInt16(o, s16(c.left[i]), true);
    v.setInt16(o + 2, s16(c.right[i]), true);
  }
  return new Blob([buffer], { type: 'audio/wav' });
}

function offerDownload() {
  const link = $('download');
  if (link.href) URL.revokeObjectURL(link.href);
  link.href = URL.createObjectURL(wavBlob());
  link.hidden = false;
}

function draw() {
  const canvas = $('wave');
  const g = canvas.getContext('2d');
  g.fillStyle = '#111';
  g.fillRect(0, 0, canvas.width, canvas.height);
  if (lastChunk) {
    g.strokeStyle = '#6cf';
    g.beginPath();
    const mid = canvas.height / 2;
    for (let x = 0; x < canvas.width; x++) {
      const y = mid - lastChunk[Math.floor(x * lastChunk.length / canvas.width)] * mid * 0.95;
      if (x === 0) g.moveTo(x, y); else g.lineTo(x, y);
    }
    g.stroke();
  }
  requestAnimationFrame(draw);
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
requestAnimationFrame(draw);
