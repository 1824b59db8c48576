// Flavors, Llama-3 RoPE frequencies and weight binding errors.
#include <gtest/gtest.h>

#include <map>

#include "engine/core/error.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/model/lm/mula_model.h"

namespace hs {
namespace {

MulaConfig tiny_config() { return {"llama-tiny", "llama-tiny-dec", 300, 12, 8, 16}; }

std::map<std::string, Tensor> zero_weights(const MulaConfig& config) {
  std::map<std::string, Tensor> out;
  for (const auto& [name, shape] : mula_tensor_shapes(config)) out[name] = Tensor::zeros(shape, DType::BF16);
  return out;
}

std::string load_error(const std::map<std::string, Tensor>& tensors) {
  CpuBackend cpu;
  try {
    MulaModel(cpu, tiny_config(), TensorMapSource(tensors));
  } catch (const FormatError& e) {
    return e.what();
  }
  return "";
}

TEST(LlamaFlavor, TableAndUnknownNames) {
  const LlamaFlavor& bb = llama_flavor("llama-3B");
  EXPECT_EQ(bb.layers, 28);
  EXPECT_EQ(bb.head_dim(), 128);
  EXPECT_EQ(bb.use, FlavorUse::Released);
  EXPECT_EQ(llama_flavor("llama-300M").head_dim(), 384);
  EXPECT_EQ(llama_flavor("llama-tiny-dec").use, FlavorUse::GoldenTest);
  EXPECT_EQ(llama_flavor("llama-tiny").max_seq_len, 1024);  // frozen with the goldens
  // The demo backbone holds the reference CLI's default song (240 s = 3001 frames) plus a prompt.
  const LlamaFlavor& demo = llama_flavor("llama-demo");
  EXPECT_EQ(demo.use, FlavorUse::Demo);
  EXPECT_GE(demo.max_seq_len, 8192);
  EXPECT_EQ(llama_flavor("llama-demo-dec").use, FlavorUse::Demo);
  EXPECT_THROW(llama_flavor("llama-1B"), FormatError);
}

// Values from tools/ref_lm.py's rope_theta (float64), one per regime: unscaled high frequencies,
// the smooth band (wavelength between 2048 and 8192), and low frequencies divided by 32.
TEST(LlamaRope, ScaledInverseFrequencies) {
  const std::vector<float> theta = llama3_inv_freq(128);
  ASSERT_EQ(theta.size(), 64u);
  const std::map<std::size_t, double> want{{0, 1.0},
                                           {1, 0.8146172338565447},
                                           {20, 0.016560440080994446},
                                           {25, 0.005940730375674967},
                                           {27, 0.003942276030116656},
                                           {30, 0.001290547928209264},
                                           {40, 8.570255489881478e-06},
                                           {63, 7.672314972286278e-08}};
  for (const auto& [j, value] : want) EXPECT_EQ(theta[j], static_cast<float>(value)) << "j " << j;
  const std::vector<float> tiny = llama3_inv_freq(16);
  EXPECT_EQ(tiny[1], static_cast<float>(0.19392274474868576));
  EXPECT_EQ(tiny[4], static_cast<float>(0.00042955679655936837));
}

TEST(MulaWeights, LoadsFromAnInMemorySource) {
  CpuBackend cpu;
  const MulaModel model(cpu, tiny_config(), TensorMapSource(zero_weights(tiny_config())));
  EXPECT_EQ(model.weights().backbone.layers.size(), 2u);
  EXPECT_EQ(model.weights().audio_heads.size(), 7u);
  EXPECT_EQ(model.weights().audio_heads[0].values.shape(), (Shape{12, 96}));
  EXPECT_EQ(model.weights().audio_embeddings.dtype(), DType::F32);
}

TEST(MulaWeights, AudioHeadIsTransposedPerCodebook) {
  CpuBackend cpu;
  auto tensors = zero_weights(tiny_config());
  Tensor head = Tensor::zeros({7, 96, 12}, DType::F32);
  head.data<float>()[(3 * 96 + 5) * 12 + 7] = 2.5f;  // audio_head[3][5][7]
  tensors["audio_head"] = head;
  const MulaModel model(cpu, tiny_config(), TensorMapSource(tensors));
  EXPECT_EQ(model.weights().audio_heads[3].values.data<float>()[7 * 96 + 5], 2.5f);
}

TEST(MulaWeights, MissingTensorIsNamed) {
  auto tensors = zero_weights(tiny_config());
  tensors.erase("decoder.layers.1.mlp.w3.weight");
  EXPECT_NE(load_error(tensors).find("missing tensor 'decoder.layers.1.mlp.w3.weight'"), std::string::npos)
      << load_error(tensors);
}

TEST(MulaWeights, WrongShapeNamesTensorAndBothShapes) {
  auto tensors = zero_weights(tiny_config());
  tensors["backbone.layers.0.attn.k_proj.weight"] = Tensor::zeros({64, 64}, DType::BF16);
  const std::string error = load_error(tensors);
  EXPECT_NE(error.find("'backbone.layers.0.attn.k_proj.weight' has shape [64, 64], expected [32, 64]"),
            std::string::npos)
      << error;
}

TEST(MulaWeights, UnsupportedCodebookCount) {
  CpuBackend cpu;
  MulaConfig config = tiny_config();
  config.audio_num_codebooks = 4;
  EXPECT_THROW(MulaModel(cpu, config, TensorMapSource(zero_weights(config))), FormatError);
}

}  // namespace
}  // namespace hs
