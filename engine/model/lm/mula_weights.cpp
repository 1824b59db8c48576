#include "engine/model/lm/mula_weights.h"

#include <cstring>
#include <map>

#include "engine/core/error.h"

namespace hs {
namespace {

constexpr std::string_view kStacks[] = {"backbone", "decoder"};

std::string layer_name(std::string_view stack, std::int64_t layer, std::string_view tensor) {
  return std::string(stack) + ".layers." + std::to_string(layer) + "." + std::string(tensor);
}

void add_stack_shapes(std::vector<std::pair<std::string, Shape>>& out, std::string_view stack,
                      const LlamaFlavor& f) {
  const std::int64_t hd = f.head_dim();
  for (std::int64_t i = 0; i < f.layers; ++i) {
    out.emplace_back(layer_name(stack, i, "sa_norm.scale"), Shape{f.dim});
    out.emplace_back(layer_name(stack, i, "attn.q_proj.weight"), Shape{f.heads * hd, f.dim});
    out.emplace_back(layer_name(stack, i, "attn.k_proj.weight"), Shape{f.kv_heads * hd, f.dim});
    out.emplace_back(layer_name(stack, i, "attn.v_proj.weight"), Shape{f.kv_heads * hd, f.dim});
    out.emplace_back(layer_name(stack, i, "attn.output_proj.weight"), Shape{f.dim, f.heads * hd});
    out.emplace_back(layer_name(stack, i, "mlp_norm.scale"), Shape{f.dim});
    out.emplace_back(layer_name(stack, i, "mlp.w1.weight"), Shape{f.ffn_dim, f.dim});
    out.emplace_back(layer_name(stack, i, "mlp.w2.weight"), Shape{f.dim, f.ffn_dim});
    out.emplace_back(layer_name(stack, i, "mlp.w3.weight"), Shape{f.ffn_dim, f.dim});
  }
  out.emplace_back(std::string(stack) + ".norm.scale", Shape{f.dim});
}

// Fetches tensors by name with presence and shape checks against mula_tensor_shapes; linears go
// through a LinearLoader under the keys below, which the fp8 weight cache stores them by.
class Binder {
 public:
  Binder(Backend& backend, const MulaConfig& config, const MulaFlavors& flavors, const WeightSource& source,
         LinearLoader& linears)
      : backend_(backend), source_(source), linears_(linears), table_dtype_(backend.narrow_dtype(linears.precision())) {
    for (auto& [name, shape] : mula_tensor_shapes(config, flavors)) shapes_.emplace(name, shape);
  }

  Tensor host(const std::string& name) const {
    if (!source_.contains(name))
      throw FormatError("HeartMuLa weights (" + source_.describe() + "): missing tensor '" + name + "'");
    Tensor t = source_.get(name);
    const Shape& want = shapes_.at(name);
    if (t.shape() != want)
      throw FormatError("HeartMuLa weights (" + source_.describe() + "): tensor '" + name + "' has shape " +
                        shape_str(t.shape()) + ", expected " + shape_str(want));
    return t;
  }
  Tensor device(const std::string& name) const { return backend_.upload(host(name)); }
  // An embedding table in the narrow dtype (bf16 beside bf16 / fp8 weights on CUDA: 1.2 GB less
  // than fp32 tables for the 3B model), placed by the backend (CUDA: host memory by default); the
  // backend widens rows as it reads them.
  Tensor table(const std::string& name) const { return backend_.upload_table(host_table(name)); }
  // The same kept on the host (an owned copy: the source may be a mapping that goes away).
  Tensor host_table(const std::string& name) const {
    return table_dtype_ == DType::BF16 ? host(name).to_bf16() : host(name).to_f32();
  }
  // A source linear, keyed by its tensor name.
  Weight linear(const std::string& name, const Tensor* bias = nullptr) const {
    return linears_.load(name, shapes_.at(name), [&] { return host(name); }, bias);
  }
  // Bias-free linears of one input stacked by rows into one weight (same dtype and width), keyed `key`.
  Weight stacked(const std::string& key, std::initializer_list<std::string> names) const {
    const std::int64_t in = shapes_.at(*names.begin()).at(1);
    std::int64_t rows = 0;
    for (const std::string& name : names) rows += shapes_.at(name).at(0);
    return linears_.load(key, {rows, in}, [&] {
      std::vector<Tensor> parts;
      for (const std::string& name : names) parts.push_back(host(name));
      Tensor all = Tensor::zeros({rows, in}, parts[0].dtype());
      std::size_t offset = 0;
      for (const Tensor& part : parts) {
        if (part.dtype() != all.dtype())
          throw FormatError("HeartMuLa weights (" + source_.describe() + "): tensors stacked into '" + key +
                            "' have different dtypes");
        std::memcpy(static_cast<char*>(all.raw()) + offset, part.raw(), part.bytes());
        offset += part.bytes();
      }
      return all;
    }, nullptr);
  }

  StackWeights stack(std::string_view prefix, const LlamaFlavor& flavor) const {
    StackWeights s{flavor, {}, device(std::string(prefix) + ".norm.scale"), {}};
    const std::vector<float> theta = llama3_inv_freq(flavor.head_dim());
    s.inv_freq = backend_.upload_exact(Tensor::from_f32({static_cast<std::int64_t>(theta.size())}, theta));
    for (std::int64_t i = 0; i < flavor.layers; ++i) {
      auto name = [&](std::string_view t) { return layer_name(prefix, i, t); };
      s.layers.push_back({device(name("sa_norm.scale")), device(name("mlp_norm.scale")),
                          stacked(name("attn.qkv_proj.weight"),
                                  {name("attn.q_proj.weight"), name("attn.k_proj.weight"), name("attn.v_proj.weight")}),
                          linear(name("attn.output_proj.weight")),
                          stacked(name("mlp.w13.weight"), {name("mlp.w1.weight"), name("mlp.w3.weight")}),
                          linear(name("mlp.w2.weight"))});
    }
    return s;
  }

  // audio_head [7, Dd, V] → 7 linear weights [V, Dd], keyed "audio_head.<i>.weight".
  std::vector<Weight> audio_heads() const {
    const Shape& shape = shapes_.at("audio_head");
    const std::int64_t n = shape[0], dd = shape[1], vocab = shape[2];
    Tensor heads;  // fp32 [7, Dd, V], read once when the first head is needed
    std::vector<Weight> out;
    for (std::int64_t i = 0; i < n; ++i) {
      out.push_back(linears_.load("audio_head." + std::to_string(i) + ".weight", {vocab, dd}, [&] {
        if (!heads.defined()) heads = host("audio_head").to_f32();
        Tensor t = Tensor::zeros({vocab, dd}, DType::F32);
        const float* src = heads.data<float>() + i * dd * vocab;
        float* dst = t.data<float>();
        for (std::int64_t r = 0; r < dd; ++r)
          for (std::int64_t c = 0; c < vocab; ++c) dst[c * dd + r] = src[r * vocab + c];
        return t;
      }, nullptr));
    }
    return out;
  }

 private:
  Backend& backend_;
  const WeightSource& source_;
  LinearLoader& linears_;
  DType table_dtype_;
  std::map<std::string, Shape> shapes_;
};

}  // namespace

MulaFlavors mula_flavors(const MulaConfig& config) {
  return {llama_flavor(config.backbone_flavor), llama_flavor(config.decoder_flavor)};
}

std::vector<std::pair<std::string, Shape>> mula_tensor_shapes(const MulaConfig& c, const MulaFlavors& flavors) {
  const LlamaFlavor& bb = flavors.backbone;
  const LlamaFlavor& dec = flavors.decoder;
  std::vector<std::pair<std::string, Shape>> out;
  add_stack_shapes(out, kStacks[0], bb);
  add_stack_shapes(out, kStacks[1], dec);
  out.emplace_back("text_embeddings.weight", Shape{c.text_vocab_size, bb.dim});
  out.emplace_back("audio_embeddings.weight", Shape{c.audio_vocab_size * c.audio_num_codebooks, bb.dim});
  out.emplace_back("unconditional_text_embedding.weight", Shape{1, bb.dim});
  out.emplace_back("projection.weight", Shape{dec.dim, bb.dim});
  out.emplace_back("codebook0_head.weight", Shape{c.audio_vocab_size, bb.dim});
  out.emplace_back("audio_head", Shape{c.audio_num_codebooks - 1, dec.dim, c.audio_vocab_size});
  out.emplace_back("muq_linear.weight", Shape{bb.dim, c.muq_dim});
  out.emplace_back("muq_linear.bias", Shape{bb.dim});
  return out;
}

std::vector<std::pair<std::string, Shape>> mula_tensor_shapes(const MulaConfig& config) {
  return mula_tensor_shapes(config, mula_flavors(config));
}

MulaWeights load_mula_weights(Backend& backend, const MulaConfig& config, const MulaFlavors& flavors,
                              const WeightSource& source, Precision precision) {
  PrecisionLinears linears(backend, precision);
  return load_mula_weights(backend, config, flavors, source, linears);
}

MulaWeights load_mula_weights(Backend& backend, const MulaConfig& config, const MulaFlavors& flavors,
                              const WeightSource& source, LinearLoader& linears) {
  if (config.audio_num_codebooks != kNumCodebooks)
    throw FormatError("HeartMuLa config: audio_num_codebooks " + std::to_string(config.audio_num_codebooks) +
                      " is not supported (expected " + std::to_string(kNumCodebooks) + ")");
  const Binder b(backend, config, flavors, source, linears);
  MulaWeights w;
  w.backbone = b.stack(kStacks[0], flavors.backbone);
  w.decoder = b.stack(kStacks[1], flavors.decoder);
  w.text_embeddings = b.host_table("text_embeddings.weight");  // 0.79 GB less on the device for the 3B model
  w.audio_embeddings = b.table("audio_embeddings.weight");
  w.unconditional_text_embedding = b.device("unconditional_text_embedding.weight");
  w.projection = b.linear("projection.weight");
  w.codebook0_head = b.linear("codebook0_head.weight");
  w.audio_heads = b.audio_heads();
  const Tensor muq_bias = b.host("muq_linear.bias");
  w.muq_linear = b.linear("muq_linear.weight", &muq_bias);
  return w;
}

}  // namespace hs
