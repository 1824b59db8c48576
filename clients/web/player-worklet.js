// AudioWorklet processor: plays planar stereo chunks posted by app.js, in order, with silence
// when the queue runs dry (an underrun is counted and reported back).
class PcmPlayer extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];  // [{left, right}] not yet played
    this.offset = 0;  // samples of queue[0] already played
    this.underruns = 0;
    this.started = false;
    this.port.onmessage = (e) => {
      if (e.data === 'reset') { this.queue = []; this.offset = 0; this.started = false; return; }
      this.queue.push(e.data);
      this.started = true;
    };
  }

  process(inputs, outputs) {
    const [left, right] = outputs[0];
    let written = 0;
    while (written < left.length && this.queue.length > 0) {
      const chunk = this.queue[0];
      const n = Math.min(left.length - written, chunk.left.length - this.offset);
      left.set(chunk.left.subarray(this.offset, this.offset + n), written);
      (right || left).set(chunk.right.subarray(this.offset, this.offset + n), written);
      written += n;
      this.offset += n;
      if (this.offset === chunk.left.length) { this.queue.shift(); this.offset = 0; }
    }
    if (written < left.length) {
      left.fill(0, written);
      if (right) right.fill(0, written);
      if (this.started && written === 0) { this.underruns++; this.port.postMessage({ underruns: this.underruns }); }
    }
    return true;
  }
}
registerProcessor('pcm-player', PcmPlayer);
