#include "engine/text/bpe.h"

#include <mutex>
#include <queue>
#include <string>

#include "engine/core/error.h"

namespace hs {
namespace {

// Words up to this many bytes are cached; longer ones are rare and cheap to redo relatively.
constexpr std::size_t kMaxCachedWordBytes = 64;
// Entries kept before the cache is cleared (bounds memory for adversarial input streams).
constexpr std::size_t kWordCacheEntries = 1 << 16;
constexpr int kByteValues = 256;

std::uint64_t pair_key(std::int32_t left, std::int32_t right) {
  return (static_cast<std::uint64_t>(static_cast<std::uint32_t>(left)) << 32) |
         static_cast<std::uint32_t>(right);
}

// A symbol of the word being merged: a doubly linked list over a vector.
struct Symbol {
  std::int32_t id = 0;
  std::int32_t prev = -1;
  std::int32_t next = -1;
  bool alive = true;
};

// A candidate merge of the symbol at `pos` with its right neighbour.
struct Candidate {
  std::uint32_t rank = 0;
  std::int32_t pos = 0;
  std::int32_t result = 0;
  // std::priority_queue is a max-heap: "greater" = lower rank, then leftmost.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

class BpeModel::WordCache {
 public:
  bool find(std::string_view word, std::vector<std::int32_t>& out) {
    std::lock_guard lock(mutex_);
    const auto it = map_.find(word);
    if (it == map_.end()) return false;
    out.insert(out.end(), it->second.begin(), it->second.end());
    return true;
  }
  void insert(std::string_view word, std::vector<std::int32_t> ids) {
    std::lock_guard lock(mutex_);
    if (map_.size() >= kWordCacheEntries) map_.clear();
    map_.emplace(std::string(word), std::move(ids));
  }

 private:
  std::mutex mutex_;
  StringMap<std::vector<std::int32_t>> map_;
};

BpeModel::BpeModel(StringMap<std::int32_t> vocab, const std::vector<MergeRule>& merges,
                   bool ignore_merges)
    : vocab_(std::move(vocab)),
      byte_ids_(kByteValues),
      ignore_merges_(ignore_merges),
      cache_(std::make_unique<WordCache>()) {
  for (int b = 0; b < kByteValues; ++b) {
    const auto it = vocab_.find(std::string_view(std::string(1, static_cast<char>(b))));
    if (it == vocab_.end())
      throw FormatError("BPE vocabulary has no token for byte " + std::to_string(b) +
                        " (byte-level BPE needs all 256)");
    byte_ids_[b] = it->second;
  }
  merges_.reserve(merges.size());
  for (std::size_t rank = 0; rank < merges.size(); ++rank) {
    const MergeRule& m = merges[rank];
    // Like HuggingFace, a repeated pair keeps its last rank.
    merges_[pair_key(m.left, m.right)] = MergeTarget{static_cast<std::uint32_t>(rank), m.result};
  }
}

BpeModel::~BpeModel() = default;
BpeModel::BpeModel(BpeModel&&) noexcept = default;
BpeModel& BpeModel::operator=(BpeModel&&) noexcept = default;

const BpeModel::MergeTarget* BpeModel::find_merge(std::int32_t left, std::int32_t right) const {
  const auto it = merges_.find(pair_key(left, right));
  return it == merges_.end() ? nullptr : &it->second;
}

void BpeModel::encode_word(std::string_view bytes, std::vector<std::int32_t>& out) const {
  if (bytes.empty()) return;
  if (ignore_merges_) {
    const auto it = vocab_.find(bytes);
    if (it != vocab_.end()) {
      out.push_back(it->second);
      return;
    }
  }
  if (bytes.size() > kMaxCachedWordBytes) {
    merge_word(bytes, out);
    return;
  }
  if (cache_->find(bytes, out)) return;
  std::vector<std::int32_t> ids;
  merge_word(bytes, ids);
  out.insert(out.end(), ids.begin(), ids.end());
  cache_->insert(bytes, std::move(ids));
}

void BpeModel::merge_word(std::string_view bytes, std::vector<std::int32_t>& out) const {
  const auto n = static_cast<std::int32_t>(bytes.size());
  std::vector<Symbol> symbols(bytes.size());
  for (std::int32_t i = 0; i < n; ++i) {
    symbols[i].id = byte_ids_[static_cast<unsigned char>(bytes[i])];
    symbols[i].prev = i - 1;
    symbols[i].next = i + 1 < n ? i + 1 : -1;
  }
  std::priority_queue<Candidate> queue;
  const auto push_candidate = [&](std::int32_t pos) {
    const std::int32_t next = symbols[pos].next;
    if (next < 0) return;
    if (const MergeTarget* m = find_merge(symbols[pos].id, symbols[next].id))
      queue.push(Candidate{m->rank, pos, m->id});
  };
  for (std::int32_t i = 0; i + 1 < n; ++i) push_candidate(i);

  while (!queue.empty()) {
    const Candidate top = queue.top();
    queue.pop();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Stale entry: one side has been merged with something else since it was queued.
    const MergeTarget* m = find_merge(left.id, right.id);
    if (m == nullptr || m->id != top.result || m->rank != top.rank) continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_candidate(left.prev);
    push_candidate(top.pos);
  }
  for (std::int32_t i = 0; i >= 0; i = symbols[i].next) out.push_back(symbols[i].id);
}

}  // namespace hs
