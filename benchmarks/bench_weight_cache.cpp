// First and second fp8 load of a HeartMuLa checkpoint through the fp8 weight cache
// (engine/io/fp8_weight_cache.h): writes a random-weight checkpoint of the given flavors, removes
// any cache, loads it twice at Precision::FP8 on the chosen backend and prints both load times;
// --json writes them with the machine, date and command. The first load reads and quantizes the
// bf16 source and writes the cache; the second maps the cache. Plain program (no Google Benchmark,
// no daemon libraries), so the binary runs on a bare GPU machine.
//
//   bench_weight_cache --dir /tmp/wc [--backbone llama-3B --decoder llama-300M] [--device cpu|cuda]
//                      [--json out.json] [--reuse] [--drop-page-cache]
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "engine/core/error.h"
#include "engine/core/parallel.h"
#include "engine/cpu/cpu_backend.h"
#include "engine/io/fp8_weight_cache.h"
#include "engine/model/demo/demo_checkpoint.h"
#include "engine/model/lm/mula_model.h"
#ifdef HEARTSTREAM_HAS_CUDA
#include <cuda_runtime.h>

#include "engine/cuda/cuda_backend.h"
#endif

namespace hs {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// The released checkpoints' vocabularies (REFERENCE.md), so embeddings and heads have real sizes.
constexpr std::int64_t kTextVocab = 128256;
constexpr std::int64_t kAudioVocab = 8197;
constexpr std::int64_t kCodeCount = 8192;
constexpr std::int64_t kCodebooks = 8;
constexpr std::int64_t kMuqDim = 512;
constexpr std::uint64_t kSeed = 7;
constexpr std::string_view kFolder = "HeartMuLa-oss-bench";

struct Args {
  fs::path dir;
  std::string backbone = "llama-3B";
  std::string decoder = "llama-300M";
  std::string device = "cpu";
  fs::path json;
  bool reuse = false;            // keep a checkpoint already in --dir
  bool drop_page_cache = false;  // evict the checkpoint and the cache from the page cache before each load
};

[[noreturn]] void usage(const std::string& problem) {
  std::cerr << "bench_weight_cache: " << problem << "\n"
            << "usage: bench_weight_cache --dir DIR [--backbone FLAVOR] [--decoder FLAVOR] [--device cpu"
#ifdef HEARTSTREAM_HAS_CUDA
            << "|cuda"
#endif
            << "] [--json PATH] [--reuse] [--drop-page-cache]\n"
            << "  writes DIR/" << kFolder << " (random bf16 weights; llama-3B + llama-300M is 7.9 GB, its fp8\n"
            << "  cache 3.35 GB more), then loads it twice at fp8 and prints both load times\n";
  std::exit(2);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(flag + " needs a value");
      return argv[++i];
    };
    if (flag == "--dir") a.dir = value();
    else if (flag == "--backbone") a.backbone = value();
    else if (flag == "--decoder") a.decoder = value();
    else if (flag == "--device") a.device = value();
    else if (flag == "--json") a.json = value();
    else if (flag == "--reuse") a.reuse = true;
    else if (flag == "--drop-page-cache") a.drop_page_cache = true;
    else usage("unknown argument '" + flag + "'");
  }
  if (a.dir.empty()) usage("--dir is required");
  if (a.device != "cpu" && a.device != "cuda") usage("--device must be cpu or cuda");
#ifndef HEARTSTREAM_HAS_CUDA
  if (a.device == "cuda") usage("this build has no CUDA backend");
#endif
  return a;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Writes dirty pages and drops the file's pages from the page cache (no root needed).
void evict(const fs::path& file) {
  const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fdatasync(fd);
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  ::close(fd);
}

std::unique_ptr<Backend> make_backend(const std::string& device) {
#ifdef HEARTSTREAM_HAS_CUDA
  if (device == "cuda") return std::make_unique<CudaBackend>();
#endif
  return std::make_unique<CpuBackend>();
}

std::string device_description(const std::string& device) {
#ifdef HEARTSTREAM_HAS_CUDA
  if (device == "cuda") {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess) return prop.name;
  }
#endif
  return "cpu (" + std::to_string(parallel_threads()) + " threads)";
}

std::string utc_now() {
  const std::time_t now = std::time(nullptr);
  char text[32];
  std::strftime(text, sizeof(text), "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  return text;
}

std::string_view outcome_name(WeightCacheOutcome o) {
  switch (o) {
    case WeightCacheOutcome::Off: return "off";
    case WeightCacheOutcome::Hit: return "hit";
    case WeightCacheOutcome::Written: return "written";
    case WeightCacheOutcome::NotWritten: return "not written";
  }
  return "?";
}

// A JSON object written field by field: strings escaped by Boost.JSON, seconds with 3 decimals.
class JsonObject {
 public:
  JsonObject& text(std::string_view key, std::string_view value) { return raw(key, json::serialize(json::string(value))); }
  JsonObject& integer(std::string_view key, std::int64_t value) { return raw(key, std::to_string(value)); }
  JsonObject& seconds(std::string_view key, double value) {
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%.3f", value);
    return raw(key, buffer);
  }
  JsonObject& object(std::string_view key, const JsonObject& value) { return raw(key, value.str()); }
  std::string str() const { return "{" + body_ + "}"; }

 private:
  JsonObject& raw(std::string_view key, const std::string& value) {
    body_ += (body_.empty() ? "" : ", ") + json::serialize(json::string(key)) + ": " + value;
    return *this;
  }
  std::string body_;
};

JsonObject report_json(const MulaLoadReport& r) {
  JsonObject o;
  o.seconds("load_s", r.load_s)
      .text("cache", outcome_name(r.cache.outcome))
      .text("cache_reason", r.cache.reason)
      .integer("linears_from_cache", r.cache.linears_from_cache)
      .integer("linears_quantized", r.cache.linears_quantized)
      .seconds("quantize_s", r.cache.quantize_s)
      .seconds("cache_write_s", r.cache.write_s);
  return o;
}

void print(const char* which, const MulaLoadReport& r) {
  std::printf("%s load %.2f s: cache %s", which, r.load_s, std::string(outcome_name(r.cache.outcome)).c_str());
  if (!r.cache.reason.empty()) std::printf(" (%s)", r.cache.reason.c_str());
  std::printf(", %lld linears from the cache, %lld quantized in %.2f s, cache write %.2f s\n",
              static_cast<long long>(r.cache.linears_from_cache), static_cast<long long>(r.cache.linears_quantized),
              r.cache.quantize_s, r.cache.write_s);
}

// --reuse and DIR already holds a checkpoint of the requested flavors.
bool reusable(const Args& a, const fs::path& mula_dir) {
  if (!a.reuse || !fs::is_regular_file(mula_dir / "model.safetensors")) return false;
  const MulaConfig c = read_mula_config(mula_dir / "config.json");
  return c.backbone_flavor == a.backbone && c.decoder_flavor == a.decoder;
}

int run(const Args& a, const std::string& command) {
  const fs::path mula_dir = a.dir / kFolder;
  const MulaConfig config{a.backbone, a.decoder, kTextVocab, kAudioVocab, kCodebooks, kMuqDim};
  mula_flavors(config);  // FormatError for an unknown flavor before anything is written
  double write_s = 0;
  if (!reusable(a, mula_dir)) {
    std::printf("writing %s (%s + %s, random bf16 weights) ...\n", mula_dir.c_str(), a.backbone.c_str(), a.decoder.c_str());
    std::fflush(stdout);
    const auto start = std::chrono::steady_clock::now();
    write_random_mula_folder(mula_dir, config, kCodeCount, kSeed);
    write_s = seconds_since(start);
    std::printf("checkpoint written in %.1f s\n", write_s);
  }
  const fs::path cache = mula_dir / kFp8CacheFileName;
  fs::remove(cache);
  const std::uint64_t checkpoint_bytes = fs::file_size(mula_dir / "model.safetensors");

  std::unique_ptr<Backend> backend = make_backend(a.device);
  MulaLoadReport first, second;
  for (MulaLoadReport* r : {&first, &second}) {
    if (a.drop_page_cache) {
      evict(mula_dir / "model.safetensors");
      evict(cache);
    }
    // The model is freed before the next load, so both loads start from the same device memory.
    MulaModel::load(*backend, mula_dir, Precision::FP8, {}, r);
  }
  print("first", first);
  print("second", second);
  const std::uint64_t cache_bytes = second.cache.file_bytes;
  std::printf("first load %.2f s, second load %.2f s (checkpoint %.2f GB, cache %.2f GB)\n", first.load_s,
              second.load_s, static_cast<double>(checkpoint_bytes) / 1e9, static_cast<double>(cache_bytes) / 1e9);

  if (!a.json.empty()) {
    JsonObject out;
    out.text("device", a.device)
        .text("hardware", device_description(a.device))
        .integer("cpu_threads", parallel_threads())
        .text("date", utc_now())
        .text("command", command)
        .text("shapes", a.backbone + " + " + a.decoder + ", random bf16 weights, text vocab " + std::to_string(kTextVocab))
        .text("page_cache", a.drop_page_cache ? "dropped before each load" : "warm (files just written)")
        .integer("checkpoint_bytes", static_cast<std::int64_t>(checkpoint_bytes))
        .seconds("checkpoint_write_s", write_s)
        .seconds("first_load_s", first.load_s)
        .seconds("second_load_s", second.load_s)
        .integer("cache_bytes", static_cast<std::int64_t>(cache_bytes))
        .object("first", report_json(first))
        .object("second", report_json(second));
    std::ofstream file(a.json);
    file << out.str() << "\n";
    if (!file) throw Error("cannot write '" + a.json.string() + "'");
  }
  return first.cache.outcome == WeightCacheOutcome::Written && second.cache.outcome == WeightCacheOutcome::Hit ? 0 : 1;
}

}  // namespace
}  // namespace hs

int main(int argc, char** argv) {
  std::string command;
  for (int i = 0; i < argc; ++i) {
    if (i > 0) command += ' ';
    command += argv[i];
  }
  try {
    return hs::run(hs::parse(argc, argv), command);
  } catch (const std::exception& e) {
    std::cerr << "bench_weight_cache: " << e.what() << "\n";
    return 1;
  }
}
