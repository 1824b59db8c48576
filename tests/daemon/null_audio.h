// PortAudio without sound hardware: ALSA's null PCM as the default device (it takes audio as fast
// as it is written and discards it). Writes an ALSA configuration into a temporary folder and
// points ALSA_CONFIG_PATH at it; call before the first Pa_Initialize in this process. Programs
// started afterwards (std::system) inherit it.
#pragma once

namespace hs::test {

void use_null_audio_device();

}  // namespace hs::test
