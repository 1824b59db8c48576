#include "engine/text/tokenizer.h"

#include "engine/core/error.h"
#include "engine/text/tokenizer_impl.h"
#include "engine/text/utf8.h"

namespace hs {

struct Tokenizer::Impl : TokenizerData {
  explicit Impl(TokenizerData data) : TokenizerData(std::move(data)) {}
};

Tokenizer Tokenizer::load(const std::filesystem::path& path) {
  Tokenizer t;
  t.impl_ = std::make_shared<const Impl>(parse_tokenizer_json(path));
  return t;
}

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  if (text.size() > kMaxInputBytes)
    throw InvalidArgument("tokenizer input of " + std::to_string(text.size()) +
                          " bytes exceeds the cap of " + std::to_string(kMaxInputBytes) + " bytes");
  const std::string clean = utf8::sanitize(text);
  const std::string_view view = clean;
  std::vector<std::int32_t> ids;
  ids.reserve(view.size() / 3 + impl_->template_prefix.size() + impl_->template_suffix.size());
  if (add_special) ids = impl_->template_prefix;
  std::vector<ByteSpan> words;
  for (const TextPiece& piece : impl_->added.split(view)) {
    if (piece.id >= 0) {
      ids.push_back(piece.id);
      continue;
    }
    const std::string_view segment = view.substr(piece.begin, piece.end - piece.begin);
    words.clear();
    impl_->split.split(segment, words);
    for (const auto& [begin, end] : words)
      impl_->bpe.encode_word(segment.substr(begin, end - begin), ids);
  }
  if (add_special)
    ids.insert(ids.end(), impl_->template_suffix.begin(), impl_->template_suffix.end());
  return ids;
}

std::string Tokenizer::decode(const std::vector<std::int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (const std::int32_t id : ids) {
    if (id < 0 || static_cast<std::size_t>(id) >= impl_->tokens.size() || !impl_->present[id])
      throw InvalidArgument("token id " + std::to_string(id) + " is not in the vocabulary of " +
                            impl_->path.string() + " (size " +
                            std::to_string(impl_->tokens.size()) + ")");
    if (skip_special && impl_->special[id]) continue;
    bytes += impl_->decoded_bytes[id];
  }
  return utf8::sanitize(bytes);
}

std::int32_t Tokenizer::token_to_id(std::string_view token) const {
  const auto it = impl_->token_ids.find(token);
  return it == impl_->token_ids.end() ? -1 : it->second;
}

std::size_t Tokenizer::vocab_size() const { return impl_->tokens.size(); }

}  // namespace hs
