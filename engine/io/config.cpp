// Typed readers for config.json / gen_config.json.
#include "engine/io/config.h"

#include <limits>

#include "engine/core/error.h"
#include "engine/io/strict_json.h"

namespace hs {
namespace {

namespace json = boost::json;

constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t kTokenIdMax = std::numeric_limits<std::int32_t>::max();
constexpr std::int64_t kDefaultSampleRateHz = 48000;

// Required and optional fields of one JSON object, each error naming the file and the key.
class ConfigReader {
 public:
  explicit ConfigReader(const std::filesystem::path& path)
      : label_("config file '" + path.string() + "'"), root_(read_strict_json_file(path, label_)) {
    if (!root_.is_object()) throw FormatError(label_ + ": not a JSON object");
  }

  std::int64_t integer(std::string_view key, std::int64_t min, std::int64_t max = kInt64Max) const {
    return to_integer(key, required(key), min, max);
  }
  std::int64_t integer_or(std::string_view key, std::int64_t fallback, std::int64_t min) const {
    const json::value* v = root_.as_object().if_contains(key);
    return v ? to_integer(key, *v, min, kInt64Max) : fallback;
  }
  std::string text(std::string_view key) const {
    const json::value& v = required(key);
    if (!v.is_string()) fail(key, "expected a non-empty string, found " + kind(v));
    if (v.as_string().empty()) fail(key, "expected a non-empty string, found an empty one");
    return std::string(v.as_string());
  }
  bool flag(std::string_view key) const {
    const json::value& v = required(key);
    if (!v.is_bool()) fail(key, "expected a boolean, found " + kind(v));
    return v.as_bool();
  }
  std::vector<std::int64_t> integers(std::string_view key, std::int64_t min) const {
    const json::value& v = required(key);
    if (!v.is_array() || v.as_array().empty()) fail(key, "expected a non-empty array of integers, found " + kind(v));
    std::vector<std::int64_t> values;
    for (const auto& item : v.as_array()) values.push_back(to_integer(key, item, min, kInt64Max));
    return values;
  }
  [[noreturn]] void fail(std::string_view key, const std::string& problem) const {
    throw FormatError(label_ + ": key '" + std::string(key) + "': " + problem);
  }

 private:
  static std::string kind(const json::value& v) { return std::string(json_kind_name(v)); }

  const json::value& required(std::string_view key) const {
    const json::value* v = root_.as_object().if_contains(key);
    if (!v) fail(key, "missing required key");
    return *v;
  }
  std::int64_t to_integer(std::string_view key, const json::value& v, std::int64_t min, std::int64_t max) const {
    if (v.is_uint64() && v.as_uint64() > static_cast<std::uint64_t>(max))
      fail(key, "value " + std::to_string(v.as_uint64()) + " out of range [" + std::to_string(min) + ", " +
                    std::to_string(max) + "]");
    if (!v.is_int64() && !v.is_uint64()) fail(key, "expected an integer, found " + kind(v));
    const std::int64_t x = v.is_int64() ? v.as_int64() : static_cast<std::int64_t>(v.as_uint64());
    if (x < min || x > max)
      fail(key, "value " + std::to_string(x) + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    return x;
  }

  std::string label_;
  json::value root_;
};

}  // namespace

MulaConfig read_mula_config(const std::filesystem::path& path) {
  const ConfigReader r(path);
  MulaConfig c;
  c.backbone_flavor = r.text("backbone_flavor");
  c.decoder_flavor = r.text("decoder_flavor");
  c.text_vocab_size = r.integer("text_vocab_size", 1);
  c.audio_vocab_size = r.integer("audio_vocab_size", 1);
  c.audio_num_codebooks = r.integer("audio_num_codebooks", 1);
  c.muq_dim = r.integer("muq_dim", 1);
  return c;
}

CodecConfig read_codec_config(const std::filesystem::path& path) {
  const ConfigReader r(path);
  CodecConfig c;
  c.dim = r.integer("dim", 1);
  c.codebook_size = r.integer("codebook_size", 1);
  c.codebook_dim = r.integer("codebook_dim", 1);
  c.num_quantizers = r.integer("num_quantizers", 1);
  c.num_attention_heads = r.integer("num_attention_heads", 1);
  c.attention_head_dim = r.integer("attention_head_dim", 1);
  c.num_layers = r.integer("num_layers", 1);
  c.num_layers_2 = r.integer("num_layers_2", 0);
  c.in_channels = r.integer("in_channels", 1);
  c.out_channels = r.integer("out_channels", 1);
  c.upsample_factors = r.integers("upsample_factors", 1);
  c.upsample_kernel_sizes = r.integers("upsample_kernel_sizes", 1);
  if (c.upsample_kernel_sizes.size() != c.upsample_factors.size())
    r.fail("upsample_kernel_sizes", "has " + std::to_string(c.upsample_kernel_sizes.size()) +
                                        " entries but upsample_factors has " + std::to_string(c.upsample_factors.size()));
  c.latent_hidden_dim = r.integer("latent_hidden_dim", 1);
  c.init_channel = r.integer("init_channel", 1);
  c.num_samples = r.integer("num_samples", 1);
  c.res_kernel_size = r.integer("res_kernel_size", 1);
  c.default_kernel_size = r.integer("default_kernel_size", 1);
  c.delay_kernel_size = r.integer("delay_kernel_size", 1);
  c.causal = r.flag("causal");
  c.sample_rate = r.integer_or("sample_rate", kDefaultSampleRateHz, 1);
  return c;
}

GenConfig read_gen_config(const std::filesystem::path& path) {
  const ConfigReader r(path);
  GenConfig c;
  c.text_bos_id = static_cast<std::int32_t>(r.integer("text_bos_id", 0, kTokenIdMax));
  c.text_eos_id = static_cast<std::int32_t>(r.integer("text_eos_id", 0, kTokenIdMax));
  c.audio_eos_id = static_cast<std::int32_t>(r.integer("audio_eos_id", 0, kTokenIdMax));
  c.empty_id = static_cast<std::int32_t>(r.integer("empty_id", 0, kTokenIdMax));
  return c;
}

}  // namespace hs
