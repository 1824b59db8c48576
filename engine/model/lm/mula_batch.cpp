#include "engine/model/lm/mula_batch.h"

#include <algorithm>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::int64_t kColumns = kNumCodebooks + 1;  // audio codebooks + text
constexpr std::int64_t kRowsPerSlot = 2;              // conditional, unconditional twin
constexpr std::int64_t kDecoderPositions = kNumCodebooks;
constexpr std::int64_t kDecoderFirstStep = 2;

std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// The bucket a step over `rows` rows runs at: the next power of two of at least kRowsPerSlot, at
// most `rows_max` (one captured graph per bucket).
std::int64_t bucket_rows(std::int64_t rows, std::int64_t rows_max) {
  std::int64_t bucket = kRowsPerSlot;
  while (bucket < rows) bucket *= 2;
  return std::min(bucket, rows_max);
}

// Row k of a [8, N] tensor, its first n entries.
Tensor codebook(const Tensor& t, std::int64_t k, std::int64_t n) { return t.slice(k, k + 1).reshape({t.dim(1)}).slice(0, n); }

Tensor i32(std::int64_t n, std::int32_t value) {
  Tensor t = Tensor::zeros({n}, DType::I32);
  std::fill(t.data<std::int32_t>(), t.data<std::int32_t>() + n, value);
  return t;
}

}  // namespace

MulaBatch::MulaBatch(const MulaModel& model, const BatchOptions& options)
    : model_(model), backend_(model.backend()), options_(options), rows_max_(kRowsPerSlot * options.slots),
      table_width_(ceil_div(model.backbone().max_seq_len, std::max<std::int64_t>(options.block_size, 1))),
      songs_(static_cast<std::size_t>(std::max<std::int64_t>(options.slots, 0))),
      pool_(backend_, model.backbone(),
            options.kv_blocks > 0 ? options.kv_blocks : options.slots * kRowsPerSlot * table_width_,
            options.block_size, kv_cache_dtype(options.kv_cache, backend_.narrow_dtype(model.precision()))),
      scratch_(backend_, model.backbone(), rows_max_, backend_.narrow_dtype(model.precision())),
      decoder_(backend_, model.decoder(), rows_max_, kDecoderPositions, kDecoderFirstStep,
               backend_.narrow_dtype(model.precision()), backend_.narrow_dtype(model.precision())) {
  HS_CHECK(options.slots >= 1 && options.block_size >= 1 && options.kv_blocks >= 0,
           "MulaBatch needs at least one slot and positive block sizes");
  for (std::int64_t b = pool_.blocks - 1; b >= 0; --b) free_blocks_.push_back(static_cast<std::int32_t>(b));
  const std::int64_t dim = model.backbone().dim, dec_dim = model.decoder().dim, vocab = model.audio_vocab();
  const DType act = backend_.activation_dtype();
  tables_host_ = Tensor::zeros({rows_max_, table_width_}, DType::I32);
  std::fill(tables_host_.data<std::int32_t>(), tables_host_.data<std::int32_t>() + tables_host_.numel(), -1);
  tables_ = backend_.upload(tables_host_);
  positions_ = backend_.alloc({rows_max_}, DType::I32);
  slots_ = backend_.alloc({rows_max_}, DType::I32);
  kv_rows_ = backend_.alloc({rows_max_}, DType::I32);

  Tensor mask = Tensor::zeros({rows_max_, kColumns}, DType::U8), uncond = Tensor::zeros({rows_max_}, DType::U8);
  for (std::int64_t r = 0; r < rows_max_; ++r) {
    uncond.data<std::uint8_t>()[r] = r % kRowsPerSlot == 1;
    for (std::int64_t c = 0; c < kNumCodebooks; ++c) mask.data<std::uint8_t>()[r * kColumns + c] = 1;
  }
  step_tokens_ = backend_.alloc({rows_max_, kColumns}, DType::I32);
  step_mask_ = backend_.upload(mask);  // the text column is masked out
  step_uncond_ = backend_.upload(uncond);

  const std::int64_t n = options.slots;
  sampling_ = {backend_.upload(i32(n, -1)), backend_.alloc({n}, DType::U8), backend_.alloc({n}, DType::F32),
               backend_.alloc({n}, DType::I32), backend_.alloc({n}, DType::F32), backend_.alloc({n, 2}, DType::I32)};
  rng_ = backend_.alloc({n, 2}, DType::I64);
  frames_ = backend_.alloc({kNumCodebooks, n}, DType::I32);
  row_tokens_ = backend_.alloc({kNumCodebooks, rows_max_}, DType::I32);
  decoder_first_positions_ = backend_.upload(Tensor::from_i32({2}, {0, 1}));
  for (std::int64_t k = 1; k < kNumCodebooks; ++k)
    decoder_positions_[k] = backend_.upload(Tensor::from_i32({1}, {static_cast<std::int32_t>(k + 1)}));

  hidden_ = backend_.alloc({rows_max_, dim}, act);
  last_h_ = backend_.alloc({rows_max_, dim}, act);
  logits_ = backend_.alloc({rows_max_, vocab}, act);
  embedding_ = backend_.alloc({rows_max_, dim}, act);
  dec_wide_ = backend_.alloc({rows_max_, kDecoderFirstStep * dim}, act);
  dec_x_ = backend_.alloc({rows_max_ * kDecoderFirstStep, dec_dim}, act);
  dec_out_ = backend_.alloc({rows_max_ * kDecoderFirstStep, dec_dim}, act);
  dec_h_ = backend_.alloc({rows_max_, dec_dim}, act);
}

std::int64_t MulaBatch::block_bytes(const MulaModel& model, std::int64_t block_size, KvCache kv) {
  const LlamaFlavor& f = model.backbone();
  const DType dtype = kv_cache_dtype(kv, model.backend().narrow_dtype(model.precision()));
  const auto element = static_cast<std::int64_t>(dtype_size(dtype));
  const std::int64_t scale = dtype == DType::F8_E4M3 ? static_cast<std::int64_t>(sizeof(float)) : 0;
  return 2 * f.layers * block_size * f.kv_heads * (f.head_dim() * element + scale);
}

const MulaBatch::Song& MulaBatch::song(std::int64_t slot) const {
  HS_CHECK(slot >= 0 && slot < options_.slots && songs_[static_cast<std::size_t>(slot)].active,
           "MulaBatch: no song in slot " + std::to_string(slot));
  return songs_[static_cast<std::size_t>(slot)];
}

Tensor MulaBatch::last_logits(std::int64_t slot) const {
  const std::int64_t row = kRowsPerSlot * slot;
  return backend_.download(logits_.slice(row, row + (song(slot).cfg ? 2 : 1)));
}

std::int64_t MulaBatch::unreserved_blocks() const {
  std::int64_t reserved = 0;
  for (const Song& s : songs_) reserved += s.reserved_blocks;
  return pool_.blocks - reserved;
}

std::int64_t MulaBatch::songs() const {
  return std::count_if(songs_.begin(), songs_.end(), [](const Song& s) { return s.active; });
}

std::int32_t MulaBatch::kv_slot(std::int64_t slot, std::int64_t row, std::int64_t position) {
  Song& s = songs_[static_cast<std::size_t>(slot)];
  auto& blocks = s.blocks[static_cast<std::size_t>(row)];
  const std::int64_t index = position / options_.block_size;
  if (index == static_cast<std::int64_t>(blocks.size())) {
    if (free_blocks_.empty())
      throw InvalidArgument("MulaBatch: the KV pool's " + std::to_string(pool_.blocks) +
                            " blocks are all taken; slot " + std::to_string(slot) + " needs one more");
    blocks.push_back(free_blocks_.back());
    free_blocks_.pop_back();
    tables_host_.data<std::int32_t>()[(kRowsPerSlot * slot + row) * table_width_ + index] = blocks.back();
    dirty_rows_.push_back(kRowsPerSlot * slot + row);
  }
  return static_cast<std::int32_t>(blocks[static_cast<std::size_t>(index)] * options_.block_size +
                                   position % options_.block_size);
}

std::int64_t MulaBatch::join(const Prompt& prompt, const SessionOptions& options, Frame& first) {
  const std::int64_t slot = begin(prompt, options);
  try {
    first = *prefill(slot);
  } catch (...) {
    leave(slot);
    throw;
  }
  return slot;
}

std::int64_t MulaBatch::begin(const Prompt& prompt, const SessionOptions& options) {
  const std::int64_t batch = check_prompt(prompt, options);
  backbone_capacity(model_, prompt, options);
  const auto free = std::find_if(songs_.begin(), songs_.end(), [](const Song& s) { return !s.active; });
  if (free == songs_.end())
    throw InvalidArgument("MulaBatch: all " + std::to_string(options_.slots) + " slots are taken");
  const std::int64_t length = prompt.length();
  const std::int64_t positions = length + options.max_frames - 1, needed = ceil_div(positions, options_.block_size) * batch;
  if (needed > unreserved_blocks())
    throw InvalidArgument("MulaBatch: a song of " + std::to_string(positions) + " positions needs " +
                          std::to_string(needed) + " KV blocks, " + std::to_string(unreserved_blocks()) + " of the " +
                          std::to_string(pool_.blocks) + " are not reserved by other songs");
  const PromptInput input(model_, prompt);
  auto pending = std::make_shared<PendingPrompt>(
      PendingPrompt{backend_.alloc({batch * length, model_.backbone().dim}, backend_.activation_dtype()), 0, options});
  input.embed(pending->hidden);
  *free = Song{.active = true, .cfg = batch == 2, .prompt_length = length, .frames_done = 0,
               .max_frames = options.max_frames, .reserved_blocks = needed, .sampling = options.sampling, .blocks = {},
               .pending = std::move(pending)};
  return free - songs_.begin();
}

std::int64_t MulaBatch::prefill_left(std::int64_t slot) const {
  const Song& s = song(slot);
  return s.pending ? s.prompt_length - s.pending->done : 0;
}

std::optional<Frame> MulaBatch::prefill(std::int64_t slot, std::int64_t max_positions) {
  Song& s = songs_[static_cast<std::size_t>(slot)];
  HS_CHECK(song(slot).pending, "MulaBatch::prefill: the song in slot " + std::to_string(slot) + " has no prompt left");
  PendingPrompt& p = *s.pending;
  const std::int64_t left = s.prompt_length - p.done;
  const std::int64_t n = max_positions > 0 ? std::min(max_positions, left) : left;
  const Tensor out = run_positions(slot, p, n);
  if (p.done < s.prompt_length) return std::nullopt;
  const std::int64_t rows = s.cfg ? 2 : 1;
  Tensor last_h = backend_.alloc({rows, model_.backbone().dim}, backend_.activation_dtype());
  for (std::int64_t b = 0; b < rows; ++b) {
    Tensor dst = last_h.slice(b, b + 1);
    backend_.copy(out.slice((b + 1) * n - 1, (b + 1) * n), dst);
  }
  const Frame first = first_frame(slot, last_h, p.options);
  s.pending.reset();
  s.frames_done = 1;
  return first;
}

Tensor MulaBatch::run_positions(std::int64_t slot, PendingPrompt& p, std::int64_t n) {
  const Song& s = song(slot);
  const std::int64_t batch = s.cfg ? 2 : 1, length = s.prompt_length, tokens = batch * n;
  // Row b of the song is KV row 2·slot + b.
  Tensor positions = Tensor::zeros({tokens}, DType::I32), slots = positions.clone(), rows = positions.clone();
  for (std::int64_t b = 0; b < batch; ++b)
    for (std::int64_t i = 0; i < n; ++i) {
      positions.data<std::int32_t>()[b * n + i] = static_cast<std::int32_t>(p.done + i);
      slots.data<std::int32_t>()[b * n + i] = kv_slot(slot, b, p.done + i);
      rows.data<std::int32_t>()[b * n + i] = static_cast<std::int32_t>(kRowsPerSlot * slot + b);
    }
  flush_tables();
  const DType act = backend_.activation_dtype();
  Tensor hidden = backend_.alloc({tokens, model_.backbone().dim}, act), out = backend_.alloc(hidden.shape(), act);
  for (std::int64_t b = 0; b < batch; ++b) {
    Tensor dst = hidden.slice(b * n, (b + 1) * n);
    backend_.copy(p.hidden.slice(b * length + p.done, b * length + p.done + n), dst);
  }
  StackScratch scratch(backend_, model_.backbone(), tokens, backend_.narrow_dtype(model_.precision()));
  const Tensor dev_positions = backend_.upload(positions), dev_slots = backend_.upload(slots),
               dev_rows = backend_.upload(rows);
  paged_forward(backend_, model_.weights().backbone, pool_, scratch, hidden,
                {dev_positions, dev_slots, dev_rows, tables_}, out);
  p.done += n;
  return out;
}

Frame MulaBatch::first_frame(std::int64_t slot, const Tensor& last_h, const SessionOptions& options) {
  const std::int64_t batch = last_h.dim(0);
  Tensor rng = Tensor::zeros({1, 2}, DType::I64);
  rng.data<std::int64_t>()[0] = static_cast<std::int64_t>(options.seed);
  Tensor song_rng = rng_.slice(slot, slot + 1);
  backend_.write(rng, song_rng);
  const SamplingParams& p = options.sampling;
  const std::int32_t blocked_end = std::max(p.blocked_end, options.first_frame_blocked_end);
  Tensor cfg = Tensor::zeros({1}, DType::U8);
  cfg.data<std::uint8_t>()[0] = batch == 2;
  const SongSampling one{backend_.upload(i32(1, 0)), backend_.upload(cfg),
                         backend_.upload_exact(Tensor::from_f32({1}, {p.temperature})),
                         backend_.upload(i32(1, p.topk)), backend_.upload_exact(Tensor::from_f32({1}, {p.cfg_scale})),
                         backend_.upload(Tensor::from_i32({1, 2}, {p.blocked_begin, blocked_end}))};
  Tensor frame = backend_.alloc({kNumCodebooks, 1}, DType::I32), row_tokens = backend_.alloc({kNumCodebooks, batch}, DType::I32);
  decode(last_h, one, song_rng, frame, row_tokens);
  Tensor step_rows = step_tokens_.slice(kRowsPerSlot * slot, kRowsPerSlot * slot + batch);
  backend_.token_columns(row_tokens, step_rows);
  const Tensor host = backend_.download(frame);
  Frame first;
  for (std::int64_t k = 0; k < kNumCodebooks; ++k) first[static_cast<std::size_t>(k)] = host.data<std::int32_t>()[k];
  return first;
}

void MulaBatch::decode(const Tensor& last_h, const SongSampling& songs, Tensor& rng, Tensor& frames,
                       Tensor& row_tokens) {
  const MulaWeights& w = model_.weights();
  const std::int64_t rows = last_h.dim(0), count = songs.first_row.dim(0), dim = model_.backbone().dim;
  const std::int64_t dec_dim = model_.decoder().dim, vocab = model_.audio_vocab();
  Tensor logits = logits_.slice(0, rows), embedding = embedding_.slice(0, rows);
  auto sample = [&](std::int64_t k) {
    Tensor song_tokens = codebook(frames, k, count), tokens = codebook(row_tokens, k, rows);
    backend_.sample_rows(logits, songs, rng, song_tokens, tokens);
    return tokens;
  };
  backend_.linear(last_h, w.codebook0_head, logits);
  backend_.gather_rows(w.audio_embeddings, sample(0), 0, embedding);
  // The decoder's first step: [last_h, E0(c0)] per row at positions 0, 1.
  Tensor wide = dec_wide_.slice(0, rows);
  backend_.write_columns(last_h, wide, 0);
  backend_.write_columns(embedding, wide, dim);
  Tensor x = dec_x_.slice(0, kDecoderFirstStep * rows), out = dec_out_.slice(0, kDecoderFirstStep * rows);
  backend_.linear(wide.reshape({kDecoderFirstStep * rows, dim}), w.projection, x);
  decoder_.forward(backend_, w.decoder, x, decoder_first_positions_, out);
  Tensor dec_h = dec_h_.slice(0, rows);
  backend_.read_columns(out.reshape({rows, kDecoderFirstStep * dec_dim}), dec_dim, dec_h);
  x = dec_x_.slice(0, rows);
  out = dec_out_.slice(0, rows);
  for (std::int64_t k = 1; k < kNumCodebooks; ++k) {
    backend_.linear(k == 1 ? dec_h : out, w.audio_heads[static_cast<std::size_t>(k - 1)], logits);
    const Tensor tokens = sample(k);
    if (k == kNumCodebooks - 1) break;
    backend_.gather_rows(w.audio_embeddings, tokens, k * vocab, embedding);
    backend_.linear(embedding, w.projection, x);
    decoder_.forward(backend_, w.decoder, x, decoder_positions_[static_cast<std::size_t>(k)], out);
  }
}

void MulaBatch::flush_tables() {
  for (const std::int64_t r : dirty_rows_) {
    Tensor row = tables_.slice(r, r + 1);
    backend_.write(tables_host_.slice(r, r + 1), row);
  }
  dirty_rows_.clear();
}

SongSampling MulaBatch::songs_view(std::int64_t count) {
  return {sampling_.first_row.slice(0, count), sampling_.cfg.slice(0, count),   sampling_.temperature.slice(0, count),
          sampling_.topk.slice(0, count),      sampling_.cfg_scale.slice(0, count), sampling_.blocked.slice(0, count)};
}

void MulaBatch::batch_step(std::int64_t rows) {
  const MulaWeights& w = model_.weights();
  Tensor x = hidden_.slice(0, rows), last_h = last_h_.slice(0, rows);
  // The text column is masked: no text row is read (any table of the audio table's dtype serves).
  backend_.embed_frame(w.audio_embeddings, w.audio_embeddings, w.unconditional_text_embedding,
                       model_.audio_vocab(), step_tokens_.slice(0, rows), step_mask_.slice(0, rows),
                       step_uncond_.slice(0, rows), x);
  const Tensor positions = positions_.slice(0, rows), slots = slots_.slice(0, rows), kv_rows = kv_rows_.slice(0, rows);
  paged_forward(backend_, w.backbone, pool_, scratch_, x, {positions, slots, kv_rows, tables_}, last_h);
  Tensor rng = rng_.slice(0, rows / kRowsPerSlot);
  decode(last_h, songs_view(rows / kRowsPerSlot), rng, frames_, row_tokens_);
  backend_.token_columns(row_tokens_, step_tokens_);
}

std::vector<std::pair<std::int64_t, Frame>> MulaBatch::step() {
  std::vector<std::int64_t> all;
  for (std::int64_t s = 0; s < options_.slots; ++s)
    if (songs_[static_cast<std::size_t>(s)].active) all.push_back(s);
  return step(all);
}

void MulaBatch::prepare_steps() {
  for (std::int64_t rows = bucket_rows(1, rows_max_);; rows = bucket_rows(rows + 1, rows_max_)) {
    if (!graphs_.contains(rows)) graphs_[rows] = backend_.capture([&] { batch_step(rows); });
    if (rows == rows_max_) return;
  }
}

std::vector<std::pair<std::int64_t, Frame>> MulaBatch::step(std::span<const std::int64_t> which) {
  std::vector<std::int64_t> stepped;
  for (const std::int64_t s : which)
    if (song(s).frames_done >= 1 && song(s).frames_done < song(s).max_frames) stepped.push_back(s);
  std::sort(stepped.begin(), stepped.end());
  stepped.erase(std::unique(stepped.begin(), stepped.end()), stepped.end());
  if (stepped.empty()) return {};
  const std::int64_t rows = bucket_rows(kRowsPerSlot * (stepped.back() + 1), rows_max_);
  const std::int64_t count = rows / kRowsPerSlot;

  // The plan: row r of a stepped song feeds back frame d − 1 at position P + d − 1.
  Tensor positions = i32(rows, 0), slots = i32(rows, -1), kv_rows = i32(rows, -1);
  Tensor first_row = i32(count, -1), cfg = Tensor::zeros({count}, DType::U8), topk = i32(count, 1);
  Tensor temperature = Tensor::zeros({count}, DType::F32), cfg_scale = temperature.clone();
  Tensor blocked = Tensor::zeros({count, 2}, DType::I32);
  for (const std::int64_t s : stepped) {
    const Song& song = songs_[static_cast<std::size_t>(s)];
    const std::int64_t position = song.prompt_length + song.frames_done - 1;
    for (std::int64_t b = 0; b < (song.cfg ? 2 : 1); ++b) {
      const std::int64_t r = kRowsPerSlot * s + b;
      positions.data<std::int32_t>()[r] = static_cast<std::int32_t>(position);
      slots.data<std::int32_t>()[r] = kv_slot(s, b, position);
      kv_rows.data<std::int32_t>()[r] = static_cast<std::int32_t>(r);
    }
    first_row.data<std::int32_t>()[s] = static_cast<std::int32_t>(kRowsPerSlot * s);
    cfg.data<std::uint8_t>()[s] = song.cfg;
    temperature.data<float>()[s] = song.sampling.temperature;
    topk.data<std::int32_t>()[s] = song.sampling.topk;
    cfg_scale.data<float>()[s] = song.sampling.cfg_scale;
    blocked.data<std::int32_t>()[2 * s] = song.sampling.blocked_begin;
    blocked.data<std::int32_t>()[2 * s + 1] = song.sampling.blocked_end;
  }
  flush_tables();
  Tensor plan[] = {positions_.slice(0, rows), slots_.slice(0, rows), kv_rows_.slice(0, rows)};
  backend_.write(positions, plan[0]);
  backend_.write(slots, plan[1]);
  backend_.write(kv_rows, plan[2]);
  SongSampling view = songs_view(count);
  backend_.write(first_row, view.first_row);
  backend_.write(cfg, view.cfg);
  backend_.write(temperature, view.temperature);
  backend_.write(topk, view.topk);
  backend_.write(cfg_scale, view.cfg_scale);
  backend_.write(blocked, view.blocked);

  if (!graphs_.contains(rows)) graphs_[rows] = backend_.capture([&] { batch_step(rows); });
  if (const auto& graph = graphs_[rows]) backend_.replay(*graph);
  else batch_step(rows);

  const Tensor host = backend_.download(frames_);
  std::vector<std::pair<std::int64_t, Frame>> out;
  for (const std::int64_t s : stepped) {
    Frame frame;
    for (std::int64_t k = 0; k < kNumCodebooks; ++k)
      frame[static_cast<std::size_t>(k)] = host.data<std::int32_t>()[k * options_.slots + s];
    ++songs_[static_cast<std::size_t>(s)].frames_done;
    out.emplace_back(s, frame);
  }
  return out;
}

void MulaBatch::leave(std::int64_t slot) {
  song(slot);
  Song& s = songs_[static_cast<std::size_t>(slot)];
  for (std::int64_t b = 0; b < kRowsPerSlot; ++b) {
    for (const std::int32_t block : s.blocks[static_cast<std::size_t>(b)]) free_blocks_.push_back(block);
    std::int32_t* table = tables_host_.data<std::int32_t>() + (kRowsPerSlot * slot + b) * table_width_;
    std::fill(table, table + table_width_, -1);
    dirty_rows_.push_back(kRowsPerSlot * slot + b);
  }
  std::sort(free_blocks_.begin(), free_blocks_.end(), std::greater<>());
  s = Song{};
}

}  // namespace hs
