// Byte-level BPE (HuggingFace `models.BPE` with byte_fallback off): a pre-token's bytes start as
// one symbol per byte and the adjacent pair of lowest merge rank is merged until none is left
// (leftmost first on ties), in O(n log n) with a priority queue over a linked list of symbols.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/text/string_map.h"

namespace hs {

class BpeModel {
 public:
  // One merge: the pair (left, right) becomes `result`. Its rank is its index in the list.
  struct MergeRule {
    std::int32_t left = 0;
    std::int32_t right = 0;
    std::int32_t result = 0;
  };

  // `vocab` maps a token's *bytes* to its id (tokens that are no byte string are left out).
  // With `ignore_merges`, a pre-token that is itself in the vocabulary is emitted as one id.
  // Throws FormatError when some byte value has no single-byte token.
  BpeModel(StringMap<std::int32_t> vocab, const std::vector<MergeRule>& merges, bool ignore_merges);
  ~BpeModel();
  BpeModel(BpeModel&&) noexcept;
  BpeModel& operator=(BpeModel&&) noexcept;

  // Appends the ids of one pre-token (raw bytes) to `out`. Thread-safe.
  void encode_word(std::string_view bytes, std::vector<std::int32_t>& out) const;

 private:
  struct MergeTarget {
    std::uint32_t rank = 0;
    std::int32_t id = 0;
  };
  class WordCache;

  void merge_word(std::string_view bytes, std::vector<std::int32_t>& out) const;
  const MergeTarget* find_merge(std::int32_t left, std::int32_t right) const;

  StringMap<std::int32_t> vocab_;
  std::vector<std::int32_t> byte_ids_;  // id of the single-byte token, per byte value
  std::unordered_map<std::uint64_t, MergeTarget> merges_;  // key: (left << 32) | right
  bool ignore_merges_ = false;
  std::unique_ptr<WordCache> cache_;
};

}  // namespace hs
