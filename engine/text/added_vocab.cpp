#include "engine/text/added_vocab.h"

namespace hs {
namespace {

constexpr std::int32_t kNoChild = -1;
constexpr std::int32_t kPlainText = -1;

}  // namespace

std::int32_t AddedVocabulary::Trie::child(std::int32_t node, unsigned char b) const {
  for (const auto& [byte, next] : nodes[node].edges)
    if (byte == b) return next;
  return kNoChild;
}

void AddedVocabulary::Trie::insert(std::string_view s, std::int32_t id) {
  if (nodes.empty()) nodes.emplace_back();
  std::int32_t node = 0;
  for (const char c : s) {
    const auto b = static_cast<unsigned char>(c);
    std::int32_t next = child(node, b);
    if (next == kNoChild) {
      next = static_cast<std::int32_t>(nodes.size());
      nodes[node].edges.emplace_back(b, next);
      nodes.emplace_back();
    }
    node = next;
  }
  nodes[node].id = id;
}

std::size_t AddedVocabulary::Trie::longest_match(std::string_view text, std::size_t pos,
                                                 std::int32_t& id) const {
  std::size_t best = 0;
  std::int32_t node = 0;
  for (std::size_t i = pos; i < text.size(); ++i) {
    node = child(node, static_cast<unsigned char>(text[i]));
    if (node == kNoChild) break;
    if (nodes[node].id >= 0) {
      best = i + 1 - pos;
      id = nodes[node].id;
    }
  }
  return best;
}

AddedVocabulary::AddedVocabulary(const std::vector<AddedToken>& tokens) {
  for (const AddedToken& t : tokens) {
    if (t.content.empty()) continue;  // can never match
    (t.normalized ? normalized_ : raw_).insert(t.content, t.id);
  }
}

void AddedVocabulary::split_with(const Trie& trie, std::string_view text, const TextPiece& piece,
                                 std::vector<TextPiece>& out) {
  if (piece.id != kPlainText || trie.nodes.empty()) {
    out.push_back(piece);
    return;
  }
  std::size_t plain_begin = piece.begin;
  std::size_t pos = piece.begin;
  const std::string_view span = text.substr(0, piece.end);
  while (pos < piece.end) {
    std::int32_t id = kPlainText;
    const std::size_t len = trie.longest_match(span, pos, id);
    if (len == 0) {
      ++pos;
      continue;
    }
    if (pos > plain_begin) out.push_back(TextPiece{plain_begin, pos, kPlainText});
    out.push_back(TextPiece{pos, pos + len, id});
    pos += len;
    plain_begin = pos;
  }
  if (piece.end > plain_begin) out.push_back(TextPiece{plain_begin, piece.end, kPlainText});
}

std::vector<TextPiece> AddedVocabulary::split(std::string_view text) const {
  std::vector<TextPiece> first;
  split_with(raw_, text, TextPiece{0, text.size(), kPlainText}, first);
  if (normalized_.nodes.empty()) return first;
  std::vector<TextPiece> out;
  for (const TextPiece& p : first) split_with(normalized_, text, p, out);
  return out;
}

}  // namespace hs
