// SafetensorsFile: read-only private mapping of a validated safetensors file.
#include "engine/io/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "engine/core/error.h"
#include "engine/io/safetensors_header.h"

namespace hs {
namespace {

constexpr std::uint64_t kLengthPrefixBytes = 8;  // u64 little-endian header length
constexpr std::uint64_t kMinHeaderBytes = 2;     // "{}"

// Owns an open descriptor for the duration of open(); the mapping outlives it.
class Descriptor {
 public:
  explicit Descriptor(int fd) : fd_(fd) {}
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  ~Descriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::uint64_t read_le64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

struct SafetensorsFile::Impl {
  std::filesystem::path path;
  void* base = nullptr;          // start of the mapping (MAP_FAILED never stored)
  std::size_t mapped_bytes = 0;
  const unsigned char* data = nullptr;  // start of the data section
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::size_t, std::less<>> by_name;  // → tensors index
  std::map<std::string, std::string> metadata;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() {
    if (base) ::munmap(base, mapped_bytes);
  }

  const TensorInfo& find(std::string_view name) const {
    const auto it = by_name.find(name);
    if (it == by_name.end())
      throw FormatError(safetensors_label(path.string()) + ": tensor '" + std::string(name) + "' not found");
    return tensors[it->second];
  }
};

SafetensorsFile SafetensorsFile::open(const std::filesystem::path& path) {
  const std::string label = safetensors_label(path.string());
  auto fail = [&label](const std::string& problem) { throw FormatError(label + ": " + problem); };

  const Descriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) fail("cannot open (" + std::string(std::strerror(errno)) + ")");
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) fail("cannot stat (" + std::string(std::strerror(errno)) + ")");
  if (!S_ISREG(st.st_mode)) fail("not a regular file");
  const auto file_bytes = static_cast<std::uint64_t>(st.st_size);
  if (file_bytes < kLengthPrefixBytes)
    fail("file too short (" + std::to_string(file_bytes) + " bytes; the header length alone takes 8)");

  auto impl = std::make_shared<Impl>();
  impl->path = path;
  impl->mapped_bytes = static_cast<std::size_t>(file_bytes);
  void* base = ::mmap(nullptr, impl->mapped_bytes, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (base == MAP_FAILED) fail("cannot map (" + std::string(std::strerror(errno)) + ")");
  impl->base = base;
  // A file truncated between the size check and the mapping would fault (SIGBUS) on first touch.
  struct stat after {};
  if (::fstat(fd.get(), &after) != 0 || static_cast<std::uint64_t>(after.st_size) != file_bytes)
    fail("file size changed while opening (truncated or rewritten concurrently)");

  const auto* bytes = static_cast<const unsigned char*>(base);
  const std::uint64_t header_bytes = read_le64(bytes);
  if (header_bytes < kMinHeaderBytes)
    fail("header length " + std::to_string(header_bytes) + " is too small (an empty header is \"{}\")");
  if (header_bytes > kMaxSafetensorsHeaderBytes)
    fail("header length " + std::to_string(header_bytes) + " exceeds the limit of " +
         std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  if (header_bytes > file_bytes - kLengthPrefixBytes)
    fail("header length " + std::to_string(header_bytes) + " exceeds the file size (" + std::to_string(file_bytes) +
         " bytes; file truncated?)");

  const std::string_view text(reinterpret_cast<const char*>(bytes + kLengthPrefixBytes), header_bytes);
  const std::uint64_t data_bytes = file_bytes - kLengthPrefixBytes - header_bytes;
  SafetensorsHeader header = parse_safetensors_header(text, data_bytes, path.string());
  impl->data = bytes + kLengthPrefixBytes + header_bytes;
  impl->tensors = std::move(header.tensors);
  impl->metadata = std::move(header.metadata);
  for (std::size_t i = 0; i < impl->tensors.size(); ++i) impl->by_name.emplace(impl->tensors[i].name, i);

  SafetensorsFile file;
  file.impl_ = std::move(impl);
  return file;
}

const std::filesystem::path& SafetensorsFile::path() const { return impl_->path; }

const std::vector<TensorInfo>& SafetensorsFile::tensors() const { return impl_->tensors; }

const std::map<std::string, std::string>& SafetensorsFile::metadata() const { return impl_->metadata; }

bool SafetensorsFile::contains(std::string_view name) const { return impl_->by_name.contains(name); }

const TensorInfo& SafetensorsFile::info(std::string_view name) const { return impl_->find(name); }

Tensor SafetensorsFile::get(std::string_view name) const {
  const TensorInfo& info = impl_->find(name);
  // The mapping is PROT_READ: the view must only be read. The aliasing owner keeps it mapped.
  void* data = const_cast<unsigned char*>(impl_->data + info.begin);
  return Tensor::view(data, info.shape, info.dtype, Device::Cpu, std::shared_ptr<void>(impl_, data));
}

}  // namespace hs
