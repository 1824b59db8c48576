#include "daemon/engine_worker.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "daemon/song_session.h"

namespace hs::daemon {
namespace {

// How long the worker sleeps when every song is paused and nobody wakes it: the granularity of
// real-time pacing, and how soon a queued song's cancel is seen while nothing runs.
constexpr auto kPausedPoll = std::chrono::milliseconds(5);
constexpr double kFramePeriodS = static_cast<double>(kFrameMs) / 1000.0;
constexpr std::string_view kShutdownMessage = "the daemon is shutting down";
constexpr std::string_view kDrainingMessage = "the daemon is shutting down (draining): it takes no new songs";
constexpr std::string_view kDrainingQueuedMessage =
    "the daemon is shutting down (draining): queued songs do not start";

constexpr std::int64_t kPromptAllowance = 512;   // positions a prompt is given in the default pool
constexpr std::int64_t kRowsPerSong = 2;         // CFG: conditional and unconditional rows
constexpr double kBytesPerGb = 1e9;
constexpr double kCodecSlackS = 3.0;   // a song with less audio in hand has its chunk decoded at once
constexpr int kCodecWaitRounds = 8;    // the longest a held chunk waits for others (640 ms of audio)
constexpr double kFirstAudioRankS = 0.5;  // a song not playing yet decodes as if it had this in hand
constexpr double kSlowRoundS = 1.0;    // rounds longer than this are logged with their parts

// The KV blocks a song of `ms` is expected to reserve when it starts: its frames and a prompt of
// kPromptAllowance positions, in each of its rows (a longer prompt reserves more when it starts).
std::int64_t expected_kv_blocks(std::int64_t ms, std::int64_t rows) {
  return rows * ((max_frames_for(ms) + kPromptAllowance + kKvBlockSize - 1) / kKvBlockSize);
}

std::int64_t expected_kv_blocks(const SongParams& p) {
  return expected_kv_blocks(p.max_audio_length_ms, p.cfg_scale != 1.0 ? kRowsPerSong : 1);
}

// The running songs' batch: a slot per max_sessions song and a KV pool of model.kv_cache_gb, or by
// default room for every slot's song of generation.max_audio_length_ms, and at least for one song
// of the longest length a request may ask (so a one-slot daemon serves any song).
BatchOptions batch_options(const MulaModel& model, const WorkerOptions& o) {
  const std::int64_t block_bytes = MulaBatch::block_bytes(model, kKvBlockSize, o.kv_cache);
  const std::int64_t per_song = expected_kv_blocks(o.song_ms, kRowsPerSong);
  const std::int64_t blocks =
      o.kv_cache_gb > 0 ? static_cast<std::int64_t>(o.kv_cache_gb * kBytesPerGb / block_bytes)
                        : std::max(o.max_sessions * per_song, expected_kv_blocks(o.longest_song_ms, kRowsPerSong));
  if (blocks < 1)
    throw ConfigError("model.kv_cache_gb " + std::to_string(o.kv_cache_gb) + " holds no KV block (" +
                      std::to_string(block_bytes) + " bytes each)");
  spdlog::info("KV cache ({}): {} blocks of {} positions, {:.2f} GB ({} songs of {} s at once)",
               kv_cache_name(o.kv_cache), blocks, kKvBlockSize, static_cast<double>(blocks * block_bytes) / kBytesPerGb,
               blocks / per_song, o.song_ms / 1000);
  return {.slots = o.max_sessions, .block_size = kKvBlockSize, .kv_blocks = blocks, .kv_cache = o.kv_cache};
}

std::unique_ptr<FrameBatch> make_batch(const std::shared_ptr<const MulaModel>& model, const WorkerOptions& o) {
  const BatchOptions options = batch_options(*model, o);
  try {
    return std::make_unique<FrameBatch>(model, options, o.prefill_per_round);
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError("the KV cache (" + std::to_string(options.kv_blocks) + " blocks) could not be allocated: " +
                      e.what() + "; set model.kv_cache_gb lower or server.max_sessions / generation.max_audio_length_ms smaller");
  }
}

}  // namespace

WorkerOptions worker_options(const DaemonConfig& config) {
  return WorkerOptions{.max_sessions = config.server.max_sessions,
                       .queue_limit = config.server.queue_limit,
                       .realtime_headroom = config.server.realtime_headroom,
                       .prefill_per_round = config.server.prefill_per_round,
                       .kv_cache_gb = config.model.kv_cache_gb,
                       .kv_cache = parse_kv_cache(config.model.kv_cache, "model.kv_cache"),
                       .song_ms = config.generation.max_audio_length_ms,
                       .longest_song_ms = config.generation.max_audio_length_ms_limit,
                       .pacing = {.chunk_frames = config.streaming.chunk_frames,
                                  .first_chunk_frames = config.streaming.first_chunk_frames.value_or(kFirstChunkFrames),
                                  .lookahead_s = config.streaming.lookahead_s,
                                  .codec_batch = config.streaming.codec_batch,
                                  .preroll_s = config.streaming.preroll_s}};
}

EngineWorker::EngineWorker(EngineModels models, WorkerOptions options, Metrics& metrics)
    : models_(std::move(models)),
      options_(options),
      metrics_(&metrics),
      metrics_worker_(metrics.add_worker(models_.backends.lm->name())),
      description_(models_.description),
      device_(models_.backends.lm->name()),
      admission_(options.realtime_headroom ? std::optional(kFramePeriodS * *options.realtime_headroom) : std::nullopt,
                 RealtimeAdmission::settle_rounds(options.pacing.first_chunk_frames)),
      batch_(make_batch(models_.mula, options_)),
      codec_batch_(std::make_unique<CodecBatch>(*models_.codec, options_.pacing.codec_batch)),
      encoders_(EncoderThreads::default_threads(std::thread::hardware_concurrency()),
                [&metrics](double seconds) { metrics.observe_encode(seconds); }) {
  metrics_->set_load(metrics_worker_, 0, 0, options_.max_sessions);
  prepare_graphs();
  report_gpu_memory();
  thread_ = std::thread([this] { run(); });
}

EngineWorker::~EngineWorker() { shutdown(); }

std::shared_ptr<SongHandle> EngineWorker::submit(SongParams params, Container container,
                                                 std::shared_ptr<SongListener> listener) {
  std::unique_lock lock(mutex_);
  if (stopping_) return nullptr;
  if (draining_) {
    auto refused = std::make_shared<SongHandle>("s" + std::to_string((*options_.song_numbers)++));
    lock.unlock();
    metrics_->rejected_draining();
    listener->on_error(error_code::kShutdown, kDrainingMessage);
    return refused;
  }
  const int queued = static_cast<int>(queue_.size());
  if (running_ + queued >= options_.max_sessions + options_.queue_limit) return nullptr;
  auto handle = std::make_shared<SongHandle>("s" + std::to_string((*options_.song_numbers)++));
  queue_.push_back(Pending{SongSetup{handle, std::move(params), container, std::move(listener),
                                     std::chrono::steady_clock::now()}});
  load_changed();
  woken_ = true;
  wake_.notify_one();
  return handle;
}

void EngineWorker::wake() {
  std::lock_guard lock(mutex_);
  woken_ = true;
  wake_.notify_one();
}

void EngineWorker::drain() {
  std::deque<Pending> queued;
  {
    std::lock_guard lock(mutex_);
    draining_ = true;
    queued.swap(queue_);
    load_changed();
  }
  for (auto& p : queued) {
    metrics_->song_shut_down();
    p.setup.listener->on_error(error_code::kShutdown, kDrainingQueuedMessage);
  }
}

bool EngineWorker::wait_idle(std::chrono::duration<double> timeout) {
  std::unique_lock lock(mutex_);
  const auto idle = [this] { return running_ == 0 && queue_.empty(); };
  return idle_.wait_for(lock, timeout, [&] { return idle() || stopping_; }) && idle();
}

EngineWorker::Readiness EngineWorker::readiness() const {
  std::lock_guard lock(mutex_);
  return readiness_locked();
}

EngineWorker::Readiness EngineWorker::readiness_locked() const {
  if (stopping_) return {false, "shutting down"};
  if (draining_)
    return {false, "draining: " + std::to_string(running_) + (running_ == 1 ? " song" : " songs") + " running"};
  const int queued = static_cast<int>(queue_.size());
  const std::string load = std::to_string(running_) + "/" + std::to_string(options_.max_sessions) + " running, " +
                           std::to_string(queued) + "/" + std::to_string(options_.queue_limit) + " queued";
  // Songs that arrived since the last round wait only for the next one, which starts them if a slot
  // is free: they take slots, but are not songs kept waiting (under load a round can take long, and
  // a balancer that saw such a song as a queue would take the daemon out). Songs a round kept in
  // the queue only while the last starts settle start within a few rounds: not full either.
  const auto kept = static_cast<int>(std::ranges::count_if(queue_, [](const Pending& p) { return p.position > 0; }));
  if (running_ + queued - kept >= options_.max_sessions || (kept > 0 && !settling_)) return {false, "full: " + load};
  if (running_ > 0 && !realtime_room_) return {false, "full: " + load + " (real-time admission holds new songs)"};
  if (!kv_room_) return {false, "full: " + load + " (the KV cache has no room for another song)"};
  return {true, "ready: " + load};
}

EngineWorker::Load EngineWorker::load() const {
  std::lock_guard lock(mutex_);
  const double budget_s = admission_.budget_s().value_or(kFramePeriodS);
  return {.running = running_,
          .queued = static_cast<int>(queue_.size()),
          .ready = readiness_locked().ready,
          .headroom_s = budget_s - predicted_next_s_.value_or(0.0)};
}

void EngineWorker::shutdown() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    wake_.notify_one();
    idle_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void EngineWorker::run() {
  while (true) {
    std::vector<Pending> admitted;
    std::vector<Notice> notices;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      admitted = take_admitted(notices);
    }
    for (const auto& n : notices) {
      if (n.position > 0) {
        n.listener->on_queued(n.position);
      } else {
        metrics_->song_finished("cancelled", 0);
        n.listener->on_done(DoneInfo{stop_reason_name(StopReason::Cancelled), 0, 0, 0});
      }
    }
    start(std::move(admitted));
    if (step_all()) continue;
    std::unique_lock lock(mutex_);
    wake_.wait_for(lock, kPausedPoll, [this] { return woken_ || stopping_; });
    woken_ = false;
  }
  end_all(error_code::kShutdown, kShutdownMessage);
}

std::vector<EngineWorker::Pending> EngineWorker::take_admitted(std::vector<Notice>& notices) {
  const auto cancelled = [](const Pending& p) { return p.setup.handle->cancel_requested(); };
  for (const auto& p : queue_)
    if (cancelled(p)) notices.push_back(Notice{p.setup.listener, 0});
  std::erase_if(queue_, cancelled);
  // KV blocks not reserved: the pool's, less what songs started but not yet joined will take.
  std::int64_t kv_free = batch_->batch().unreserved_blocks();
  for (const auto& session : sessions_)
    if (session->generator().frames_emitted() == 0 && !session->generator().prefilling() && !session->finished())
      kv_free -= expected_kv_blocks(session->params());
  // A song longer than the whole pool starts anyway and ends with an error naming the KV cache.
  const auto kv_fits = [&](std::int64_t need) { return need <= kv_free || need > batch_->batch().pool_blocks(); };
  std::vector<Pending> admitted;
  while (!queue_.empty() && running_ < options_.max_sessions && admission_.admits_one_more(running_) &&
         kv_fits(expected_kv_blocks(queue_.front().setup.params))) {
    kv_free -= expected_kv_blocks(queue_.front().setup.params);
    admitted.push_back(std::move(queue_.front()));
    queue_.pop_front();
    ++running_;
    admission_.started();
  }
  realtime_room_ = admission_.has_room_for_one_more(running_);
  settling_ = admission_.settling();
  kv_room_ = kv_fits(queue_.empty() ? expected_kv_blocks(options_.song_ms, kRowsPerSong)
                                    : expected_kv_blocks(queue_.front().setup.params));
  const bool slots_full = running_ >= options_.max_sessions;
  for (std::size_t i = 0; i < queue_.size(); ++i) {
    Pending& p = queue_[i];
    const int position = static_cast<int>(i) + 1;
    if (p.position == position) continue;
    if (p.position == 0) {
      if (slots_full) metrics_->queued_for_slots();
      else if (!kv_room_) metrics_->queued_for_kv_cache();
      else metrics_->queued_for_realtime();
    }
    p.position = position;
    notices.push_back(Notice{p.setup.listener, position});
  }
  if (!admitted.empty() || !notices.empty()) load_changed();
  return admitted;
}

void EngineWorker::start(std::vector<Pending> admitted) {
  if (admitted.empty()) return;
  // What the songs start beside: each other, and the songs already running (daemon/pacing.h).
  const int songs = static_cast<int>(sessions_.size() + admitted.size());
  const std::optional<double> round_s = admission_.predicted_round_s(songs);
  const auto starting = [](const auto& s) { return !s->finished() && !s->playing(); };
  const SongStart beside{.others = songs - 1,
                         .others_starting = admitted.size() > 1 || std::ranges::any_of(sessions_, starting),
                         .round_share = round_s ? std::optional(*round_s / kFramePeriodS) : std::nullopt};
  const double preroll_s = options_.pacing.preroll_s.value_or(start_preroll_s(beside));
  for (auto& p : admitted) {
    auto listener = p.setup.listener;
    p.setup.admitted_at = std::chrono::steady_clock::now();
    p.setup.preroll_s = preroll_s;
    metrics_->observe_queue_wait(std::chrono::duration<double>(p.setup.admitted_at - p.setup.accepted_at).count());
    try {
      sessions_.push_back(std::make_unique<SongSession>(models_, *batch_, *codec_batch_, std::move(p.setup), options_.pacing,
                                                        *metrics_, [this] { song_ended(); }));
      spdlog::info("song {} started on {} ({} running)", sessions_.back()->id(), device_, sessions_.size());
    } catch (const std::exception& e) {
      spdlog::warn("song rejected by the engine: {}", e.what());
      const bool bad_request = dynamic_cast<const InvalidArgument*>(&e) != nullptr;
      if (bad_request)
        metrics_->rejected_invalid();
      else
        metrics_->song_failed();
      {
        std::lock_guard lock(mutex_);
        --running_;
        load_changed();
      }
      listener->on_error(bad_request ? error_code::kRejected : error_code::kGenerationFailed, e.what());
    }
  }
}

bool EngineWorker::step_all() {
  int stepped = 0;
  const auto round_start = std::chrono::steady_clock::now();
  for (auto& session : sessions_)  // an encoder thread failed on its audio
    if (const std::optional<std::string> error = session->output()->error(); error && !session->finished()) {
      spdlog::error("song {} failed: {}", session->id(), *error);
      fail_song(*session, *error);
    }
  // The LM first: one batched step gives every song the round steps its next frame (a new song's
  // first frame comes from its own prompt in its step below). Rounds run in lockstep
  // (daemon/pacing.h): only while some song is Due, and then every Ready song comes along.
  std::vector<Pace> paces;
  for (auto& session : sessions_) paces.push_back(session->pace(round_start));
  const bool any_due = std::ranges::find(paces, Pace::Due) != paces.end();
  std::vector<SongSession*> active;
  std::vector<Generator*> generators;
  for (std::size_t i = 0; i < sessions_.size(); ++i)
    if (steps_in_round(paces[i], any_due)) {
      active.push_back(sessions_[i].get());
      generators.push_back(&sessions_[i]->generator());
    }
  try {
    batch_->step(generators);
  } catch (const std::exception& e) {
    spdlog::error("the batched LM step failed: {}", e.what());
    for (SongSession* session : active) fail_song(*session, e.what());
  }
  const auto lm_end = std::chrono::steady_clock::now();
  metrics_->set_kv_blocks(metrics_worker_, batch_->batch().pool_blocks() - batch_->batch().free_blocks(),
                          batch_->batch().pool_blocks());
  int prompt_songs = 0;  // new songs whose step ran their prompt, left out of admission's round
  double prompt_s = 0;
  for (SongSession* session : active) {
    ++stepped;
    const bool prompt = session->generator().frames_emitted() == 0;
    const auto step_start = std::chrono::steady_clock::now();
    try {
      session->step();
      const double step_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      metrics_->observe_step(step_s);
      if (prompt) {
        ++prompt_songs;
        prompt_s += step_s;
      }
    } catch (const std::exception& e) {
      spdlog::error("song {} failed: {}", session->id(), e.what());
      fail_song(*session, e.what());
    }
  }
  const auto steps_end = std::chrono::steady_clock::now();
  const std::int64_t chunks = decode_audio(stepped > 0);
  const auto now = std::chrono::steady_clock::now();
  if (stepped > 0) {
    const double round_s = std::chrono::duration<double>(now - round_start).count();
    if (round_s > kSlowRoundS) {
      const auto ms = [](auto a, auto b) { return std::chrono::duration<double, std::milli>(b - a).count(); };
      spdlog::warn("slow round: {:.0f} ms for {} songs (LM batch {:.0f} ms, song steps {:.0f} ms, codec {:.0f} ms for {} chunks)",
                   round_s * 1000.0, stepped, ms(round_start, lm_end), ms(lm_end, steps_end), ms(steps_end, now), chunks);
    }
    metrics_->observe_round(stepped, round_s);
    admission_.observe_round(
        {.songs = stepped, .seconds = round_s, .prompt_songs = prompt_songs, .prompt_s = prompt_s});
  }
  std::erase_if(sessions_, [](const auto& s) { return s->finished(); });
  double worst_lag_s = 0;
  for (auto& session : sessions_) worst_lag_s = std::max(worst_lag_s, session->update_lag(now));
  metrics_->set_worst_lag(metrics_worker_, worst_lag_s);
  const std::optional<double> predicted = admission_.predicted_round_s(static_cast<int>(sessions_.size()) + 1);
  metrics_->set_predicted_round(metrics_worker_, predicted.value_or(0.0));
  {
    std::lock_guard lock(mutex_);
    predicted_next_s_ = predicted;
  }
  if (stepped > 0) report_gpu_memory();
  return stepped > 0;
}

std::int64_t EngineWorker::decode_audio(bool stepped) {
  // A song's due chunk may wait a few rounds for others, so that codec calls hold more songs (a
  // call costs about the same for 8 songs as for 4): every held chunk is decoded in a round where
  // one must be — its listener has less than kCodecSlackS of audio in hand, or it has waited
  // kCodecWaitRounds — or where enough are held to fill a call. Only rounds that stepped songs
  // count as waits: between lockstep rounds the worker polls every kPausedPoll, and counting those
  // sent chunks to the codec 40 ms after they fell due, a song or two a call (H200 loadtest).
  const auto now = std::chrono::steady_clock::now();
  std::vector<SongSession*> due;
  bool must = false;
  for (auto& session : sessions_) {
    if (session->finished() || !session->decoder().holds_chunks()) continue;
    due.push_back(session.get());
    must = must || session->ahead_s(now) < kCodecSlackS || session->codec_wait_rounds >= kCodecWaitRounds;
  }
  if (!must && static_cast<int>(due.size()) < options_.pacing.codec_batch) {
    if (stepped)
      for (SongSession* session : due) ++session->codec_wait_rounds;
    return 0;
  }
  // Songs whose listeners would run out of audio soonest first (calls run in that order, each
  // call's audio handed to the encoder threads as it ends): a song not playing yet ranks as if it
  // had kFirstAudioRankS in hand.
  const auto rank = [&](const SongSession* s) { return s->playing() ? s->ahead_s(now) : kFirstAudioRankS; };
  std::ranges::stable_sort(due, {}, rank);
  std::vector<StreamingDecoder*> decoders;
  for (SongSession* session : due) {
    decoders.push_back(&session->decoder());
    session->codec_wait_rounds = 0;
  }
  const auto hand_over = [&](std::span<StreamingDecoder* const> called) {
    // Their Opus encoding on the encoder threads, beside the next calls and rounds (encoder_threads.h).
    std::vector<std::shared_ptr<SongOutput>> outputs;
    for (StreamingDecoder* decoder : called) {
      SongSession* session = due[static_cast<std::size_t>(std::ranges::find(decoders, decoder) - decoders.begin())];
      if (session->pull_audio()) outputs.push_back(session->output());
    }
    metrics_->observe_encode_wait(encoders_.encode(std::move(outputs)));
  };
  try {
    codec_batch_->run(decoders, hand_over);
  } catch (const std::exception& e) {
    spdlog::error("the batched codec call failed: {}", e.what());
    for (SongSession* session : due) fail_song(*session, e.what());
    return 0;
  }
  metrics_->observe_codec(static_cast<std::int64_t>(due.size()),
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - now).count());
  return static_cast<std::int64_t>(due.size());
}

void EngineWorker::prepare_graphs() {
  // On a GPU, every batch size's step and the codec calls songs make as they start are captured
  // now: a fresh daemon's first crowd otherwise captured them in its first rounds, which also read
  // to admission as slow rounds. The CPU captures nothing (its buffers are made as songs need them).
  const bool lm = models_.backends.lm->device() == Device::Cuda;
  const bool codec = models_.backends.codec->device() == Device::Cuda;
  if (!lm && !codec) return;
  const auto start = std::chrono::steady_clock::now();
  if (lm) batch_->prepare();
  if (codec)
    codec_batch_->prepare(song_chunking(options_.pacing.chunk_frames, options_.pacing.first_chunk_frames),
                          options_.max_sessions);
  spdlog::info("prepared the batched steps of up to {} songs and {} codec call shapes in {:.2f} s",
               options_.max_sessions, codec_batch_->shapes_made(),
               std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

void EngineWorker::fail_song(SongSession& session, std::string_view what) {
  metrics_->song_failed();
  session.fail(error_code::kGenerationFailed, what);
}

void EngineWorker::report_gpu_memory() {
  if (models_.backends.lm->device() == Device::Cuda)
    metrics_->set_gpu_memory_peak_bytes(metrics_worker_, "lm", models_.backends.lm->peak_allocated_bytes());
  if (models_.backends.codec->device() == Device::Cuda)
    metrics_->set_gpu_memory_peak_bytes(metrics_worker_, "codec", models_.backends.codec->peak_allocated_bytes());
}

void EngineWorker::end_all(std::string_view code, std::string_view message) {
  for (auto& session : sessions_) {
    if (session->finished()) continue;
    metrics_->song_shut_down();
    session->fail(code, message);
  }
  sessions_.clear();
  std::deque<Pending> queued;
  {
    std::lock_guard lock(mutex_);
    queued.swap(queue_);
    running_ = 0;
    load_changed();
    idle_.notify_all();
  }
  for (auto& p : queued) {
    metrics_->song_shut_down();
    p.setup.listener->on_error(code, message);
  }
  metrics_->set_worst_lag(metrics_worker_, 0);
}

void EngineWorker::song_ended() {
  std::lock_guard lock(mutex_);
  --running_;
  load_changed();
}

void EngineWorker::load_changed() {
  const int queued = static_cast<int>(queue_.size());
  metrics_->set_load(metrics_worker_, running_, queued, options_.max_sessions);
  if (running_ == 0 && queued == 0) idle_.notify_all();
}

}  // namespace hs::daemon
