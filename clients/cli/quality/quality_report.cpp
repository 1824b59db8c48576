#include "clients/cli/quality/quality_report.h"

#include "engine/backends/backend_factory.h"

namespace hs::cli {
namespace json = boost::json;
namespace {

constexpr std::size_t kTableLayers = 8;  // layer groups printed (the JSON holds them all)

json::object logit_stats_json(const CodebookLogitStats& s) {
  return {{"logit_error", s.normalised_error()}, {"kl_nats_mean", s.kl_mean()}, {"kl_nats_max", s.kl_max},
          {"top1_agreement", s.top1_agreement()}, {"topk_agreement", s.topk_agreement()}};
}

json::object audio_json(const AudioDistance& d) {
  json::object o{{"relative_l2", d.relative_l2}, {"log_mel_distance_db", d.log_mel_distance_db}};
  o["snr_db"] = d.snr_db ? json::value(*d.snr_db) : json::value(nullptr);  // null: identical (infinite)
  return o;
}

std::string snr_text(const AudioDistance& d) {
  char buf[32];
  if (!d.snr_db) return "inf";
  std::snprintf(buf, sizeof buf, "%.2f", *d.snr_db);
  return buf;
}

}  // namespace

json::object to_json(const QualityReport& r) {
  json::object o;
  o["model_path"] = r.model_path;
  o["version"] = r.version;
  o["device"] = r.device;
  o["reference_precision"] = precision_name(r.reference);
  o["kv_cache"] = kv_cache_name(r.kv_cache);
  o["request"] = {{"tags", r.request.tags},
                  {"lyrics", r.request.lyrics},
                  {"max_audio_length_ms", r.request.max_audio_length_ms},
                  {"temperature", r.request.sampling.temperature},
                  {"topk", r.request.sampling.topk},
                  {"cfg_scale", r.request.sampling.cfg_scale},
                  {"seed", r.request.seed}};
  o["frames"] = r.frames;
  o["audio_ms"] = r.frames * kFrameMs;
  o["stop_reason"] = stop_reason_name(r.stop_reason);
  json::array lm;
  for (const LmQuality& q : r.lm) {
    json::object p = logit_stats_json(q.logits.total());
    p["precision"] = precision_name(q.precision);
    json::array codebooks;
    for (const CodebookLogitStats& c : q.logits.codebooks) codebooks.push_back(logit_stats_json(c));
    p["codebooks"] = std::move(codebooks);
    p["frame_kl_nats"] = json::value_from(q.logits.frame_kl);
    lm.push_back(std::move(p));
  }
  o["lm"] = std::move(lm);
  if (r.layer_precision) {
    json::array groups;
    for (const LayerQuality& l : r.layers) {
      json::object g = logit_stats_json(l.stats);
      g["group"] = l.group;
      g["keep_pattern"] = l.group + ".*";  // `heartstream quantize --keep` keeps this group in bf16
      groups.push_back(std::move(g));
    }
    o["layers"] = {{"precision", precision_name(*r.layer_precision)}, {"frames", r.layer_frames},
                   {"groups", std::move(groups)}};
  }
  json::array codec, streaming;
  for (const AudioQuality& a : r.codec) {
    json::object c = audio_json(a.distance);
    c["precision"] = a.label;
    codec.push_back(std::move(c));
  }
  for (const AudioQuality& a : r.streaming) {
    json::object s = audio_json(a.distance);
    s["chunk_frames"] = std::stoll(a.label);
    streaming.push_back(std::move(s));
  }
  o["codec"] = std::move(codec);
  o["streaming"] = std::move(streaming);
  o["image"] = r.image;
  return o;
}

void print_quality_table(std::FILE* out, const QualityReport& r) {
  std::fprintf(out, "%lld frames (%lld ms, %s), each precision (KV cache %s) teacher-forced against %s:\n",
               static_cast<long long>(r.frames), static_cast<long long>(r.frames * kFrameMs),
               std::string(stop_reason_name(r.stop_reason)).c_str(), std::string(kv_cache_name(r.kv_cache)).c_str(),
               std::string(precision_name(r.reference)).c_str());
  std::fprintf(out, "%-10s %12s %12s %12s %10s %10s\n", "precision", "logit_error", "kl_mean", "kl_max", "top1", "topk");
  for (const LmQuality& q : r.lm) {
    const CodebookLogitStats t = q.logits.total();
    std::fprintf(out, "%-10s %12.3e %12.3e %12.3e %10.4f %10.4f\n", std::string(precision_name(q.precision)).c_str(),
                 t.normalised_error(), t.kl_mean(), t.kl_max, t.top1_agreement(), t.topk_agreement());
  }
  if (r.layer_precision && !r.layers.empty()) {
    std::fprintf(out, "\ncostliest linear groups at %s alone (first %lld frames):\n",
                 std::string(precision_name(*r.layer_precision)).c_str(), static_cast<long long>(r.layer_frames));
    std::fprintf(out, "%-28s %12s %12s\n", "group", "logit_error", "kl_mean");
    for (std::size_t i = 0; i < r.layers.size() && i < kTableLayers; ++i)
      std::fprintf(out, "%-28s %12.3e %12.3e\n", r.layers[i].group.c_str(), r.layers[i].stats.normalised_error(),
                   r.layers[i].stats.kl_mean());
  }
  if (!r.codec.empty()) {
    std::fprintf(out, "\ncodec audio against %s:\n%-10s %10s %12s %14s\n", std::string(precision_name(r.reference)).c_str(),
                 "precision", "snr_db", "relative_l2", "log_mel_db");
    for (const AudioQuality& a : r.codec)
      std::fprintf(out, "%-10s %10s %12.3e %14.3f\n", a.label.c_str(), snr_text(a.distance).c_str(),
                   a.distance.relative_l2, a.distance.log_mel_distance_db);
  }
  if (!r.streaming.empty()) {
    std::fprintf(out, "\nstreaming decoder against the offline windows:\n%-12s %10s %12s %14s\n", "chunk_frames",
                 "snr_db", "relative_l2", "log_mel_db");
    for (const AudioQuality& a : r.streaming)
      std::fprintf(out, "%-12s %10s %12.3e %14.3f\n", a.label.c_str(), snr_text(a.distance).c_str(),
                   a.distance.relative_l2, a.distance.log_mel_distance_db);
  }
}

}  // namespace hs::cli
