#include "engine/model/lm/mula_model.h"

#include <chrono>

#include "engine/io/safetensors.h"

namespace hs {
namespace {

bool weight_cache_enabled(const MulaLoadOptions& options) {
  return options.weight_cache && weight_cache_allowed_by_environment();
}

}  // namespace

MulaModel::MulaModel(Backend& backend, MulaConfig config, const WeightSource& source, Precision precision)
    : MulaModel(backend, config, mula_flavors(config), source, precision) {}

MulaModel::MulaModel(Backend& backend, MulaConfig config, const MulaFlavors& flavors, const WeightSource& source,
                     Precision precision)
    : backend_(backend), config_(std::move(config)), precision_(precision),
      weights_(load_mula_weights(backend, config_, flavors, source, precision)) {}

MulaModel::MulaModel(Backend& backend, MulaConfig config, const MulaFlavors& flavors, const WeightSource& source,
                     Precision precision, LinearLoader& linears)
    : backend_(backend), config_(std::move(config)), precision_(precision),
      weights_(load_mula_weights(backend, config_, flavors, source, linears)) {}

std::shared_ptr<const MulaModel> MulaModel::load(Backend& backend, const std::filesystem::path& dir,
                                                 Precision precision, const MulaLoadOptions& options,
                                                 MulaLoadReport* report) {
  const auto start = std::chrono::steady_clock::now();
  const MulaConfig config = read_mula_config(dir / "config.json");
  const TensorStore store = TensorStore::open(dir);
  const TensorStoreSource source(store);
  std::shared_ptr<const MulaModel> model;
  WeightCacheReport cache;
  if ((precision == Precision::FP8 || is_4bit(precision)) && weight_cache_enabled(options)) {
    const std::optional<Q4Format> q4 = q4_format(precision);
    Fp8CachedLinears linears(backend, dir / weight_cache_file_name(q4), store.files(), options.keep_bf16, q4);
    model = std::make_shared<const MulaModel>(backend, config, mula_flavors(config), source, precision, linears);
    cache = linears.finish();
  } else {
    model = std::make_shared<const MulaModel>(backend, config, source, precision);
  }
  if (report) {
    report->cache = std::move(cache);
    report->load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return model;
}

}  // namespace hs
