#include "engine/model/lm/mula_model.h"

#include "engine/io/safetensors.h"

namespace hs {

MulaModel::MulaModel(Backend& backend, MulaConfig config, const WeightSource& source, Precision precision)
    : MulaModel(backend, config, mula_flavors(config), source, precision) {}

MulaModel::MulaModel(Backend& backend, MulaConfig config, const MulaFlavors& flavors, const WeightSource& source,
                     Precision precision)
    : backend_(backend), config_(std::move(config)), precision_(precision),
      weights_(load_mula_weights(backend, config_, flavors, source, precision)) {}

std::shared_ptr<const MulaModel> MulaModel::load(Backend& backend, const std::filesystem::path& dir,
                                                 Precision precision) {
  const MulaConfig config = read_mula_config(dir / "config.json");
  const TensorStoreSource source(TensorStore::open(dir));
  return std::make_shared<const MulaModel>(backend, config, source, precision);
}

}  // namespace hs
