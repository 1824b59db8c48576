// Added tokens (HuggingFace `added_tokens`): strings matched in the raw text before
// pre-tokenization and emitted as single ids. Matching is leftmost-longest, like the
// HuggingFace Aho-Corasick matcher: scanning left to right, at each position the longest token
// starting there wins. Tokens with `normalized: false` are matched first over the whole text, then
// tokens with `normalized: true` over what is left (with no normalizer both see the raw text).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hs {

struct AddedToken {
  std::string content;
  std::int32_t id = 0;
  bool special = false;
  bool normalized = false;
};

// A piece of the input: an added token (`id` >= 0) or plain text (`id` == -1) to pre-tokenize.
struct TextPiece {
  std::size_t begin = 0;
  std::size_t end = 0;
  std::int32_t id = -1;
};

class AddedVocabulary {
 public:
  AddedVocabulary() = default;
  explicit AddedVocabulary(const std::vector<AddedToken>& tokens);

  // Splits `text` into added tokens and the plain text between them, in order.
  std::vector<TextPiece> split(std::string_view text) const;

 private:
  // A byte trie; node 0 is the root. Few tokens share long prefixes, so edges are small lists.
  struct Trie {
    struct Node {
      std::vector<std::pair<unsigned char, std::int32_t>> edges;  // byte → child node
      std::int32_t id = -1;                                       // token ending here
    };
    std::int32_t child(std::int32_t node, unsigned char b) const;
    std::vector<Node> nodes;
    void insert(std::string_view s, std::int32_t id);
    // Length and id of the longest token starting at `pos`; length 0 if none.
    std::size_t longest_match(std::string_view text, std::size_t pos, std::int32_t& id) const;
  };
  static void split_with(const Trie& trie, std::string_view text, const TextPiece& piece,
                         std::vector<TextPiece>& out);

  Trie raw_;         // normalized == false
  Trie normalized_;  // normalized == true
};

}  // namespace hs
