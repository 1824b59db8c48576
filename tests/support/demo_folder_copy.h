// For tests that change a checkpoint folder (the fp8 weight caches: written, touched, made
// read-only): each test works on its own copy of one folder of the demo checkpoint, which is
// written once per suite; and the byte-level helpers those tests share.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>

#include "engine/cpu/cpu_backend.h"
#include "engine/io/checkpoint.h"
#include "engine/io/safetensors.h"
#include "engine/model/common/fp8_cached_linears.h"
#include "engine/model/demo/demo_checkpoint.h"

namespace hs::test {

// Same dtype, shape and bytes (or both undefined).
inline bool same_bytes(const Tensor& a, const Tensor& b) {
  if (a.defined() != b.defined()) return false;
  if (!a.defined()) return true;
  return a.dtype() == b.dtype() && a.shape() == b.shape() && std::memcmp(a.raw(), b.raw(), a.bytes()) == 0;
}

// The byte offset in a safetensors file of tensor `name`'s data: the 8-byte little-endian header
// length, the header, then the tensor's offset in the data section.
inline std::uint64_t data_offset(const std::filesystem::path& file, const std::string& name) {
  constexpr std::uint64_t kLengthPrefixBytes = 8;
  std::ifstream in(file, std::ios::binary);
  unsigned char length[kLengthPrefixBytes];
  in.read(reinterpret_cast<char*>(length), sizeof(length));
  std::uint64_t header = 0;
  for (int i = 7; i >= 0; --i) header = (header << 8) | length[i];
  return kLengthPrefixBytes + header + SafetensorsFile::open(file).info(name).begin;
}

inline void overwrite_byte(const std::filesystem::path& file, std::uint64_t offset, unsigned char value) {
  std::fstream f(file, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(value));
  ASSERT_TRUE(f.good());
}

// A fixture whose tests each get dir_: a fresh copy of the demo checkpoint's `Folder`
// (CheckpointPaths::mula_dir or ::codec_dir), with the weight-cache switch unset.
template <std::filesystem::path CheckpointPaths::*Folder>
class DemoFolderCopy : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::string suite = ::testing::UnitTest::GetInstance()->current_test_suite()->name();
    root_ = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                      ("hs_" + suite + "_" + std::to_string(::getpid())));
    source_ = new std::filesystem::path(write_demo_checkpoint(*root_ / "source", backend_).*Folder);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete source_;
    delete root_;
  }
  void SetUp() override {
    ::unsetenv(kWeightCacheEnvVar.data());
    dir_ = *root_ / ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::copy(*source_, dir_, std::filesystem::copy_options::recursive);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::permissions(dir_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(dir_, ec);
  }

  static inline CpuBackend backend_;
  static inline std::filesystem::path* root_ = nullptr;
  static inline std::filesystem::path* source_ = nullptr;
  std::filesystem::path dir_;
};

}  // namespace hs::test
