// tokenizer.json → TokenizerData. Every feature the file uses is either implemented or
// rejected here with a FormatError naming the file and the feature.
#include <algorithm>
#include <iterator>
#include <optional>

#include <boost/json.hpp>

#include "engine/core/error.h"
#include "engine/core/read_file.h"
#include "engine/text/byte_level.h"
#include "engine/text/tokenizer_impl.h"

namespace hs {
namespace {

namespace json = boost::json;

// Token ids index the tokenizer's tables (a string per id up to the largest), so the largest id
// bounds their memory: 2^21 ids, 16x Llama-3's 128,256, at most ~150 MB of tables.
constexpr std::int64_t kMaxTokenId = (std::int64_t{1} << 21) - 1;
// The largest tokenizer.json read (Llama-3's is 17 MB).
constexpr std::uintmax_t kMaxTokenizerFileBytes = 256 * 1024 * 1024;

const json::value* find(const json::object& o, std::string_view key) {
  const auto it = o.find(key);
  return it == o.end() ? nullptr : &it->value();
}

bool null_or_absent(const json::object& o, std::string_view key) {
  const json::value* v = find(o, key);
  return v == nullptr || v->is_null();
}

const json::object& as_object(const json::value& v, std::string_view where) {
  if (!v.is_object()) throw FormatError(std::string(where) + " is not an object");
  return v.get_object();
}

const json::array& as_array(const json::value& v, std::string_view where) {
  if (!v.is_array()) throw FormatError(std::string(where) + " is not an array");
  return v.get_array();
}

std::string_view as_string(const json::value& v, std::string_view where) {
  if (!v.is_string()) throw FormatError(std::string(where) + " is not a string");
  return v.get_string();
}

const json::value& member(const json::object& o, std::string_view key, std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) throw FormatError(std::string(where) + " lacks \"" + std::string(key) + "\"");
  return *v;
}

bool flag(const json::object& o, std::string_view key, bool absent_value, std::string_view where) {
  const json::value* v = find(o, key);
  if (v == nullptr) return absent_value;
  if (!v->is_bool())
    throw FormatError(std::string(where) + "." + std::string(key) + " is not a boolean");
  return v->get_bool();
}

std::int32_t token_id(const json::value& v, std::string_view where) {
  if (!v.is_int64() && !v.is_uint64())
    throw FormatError(std::string(where) + " is not an integer token id");
  const std::int64_t id = v.is_int64() ? v.get_int64() : static_cast<std::int64_t>(v.get_uint64());
  if (id < 0 || id > kMaxTokenId)
    throw FormatError(std::string(where) + " id out of range: " + std::to_string(id) + " (ids 0.." +
                      std::to_string(kMaxTokenId) + " are supported)");
  return static_cast<std::int32_t>(id);
}

std::string_view type_of(const json::object& o, std::string_view where) {
  return as_string(member(o, "type", where), std::string(where) + ".type");
}

void require_null(const json::object& root, std::string_view key) {
  if (!null_or_absent(root, key))
    throw FormatError("\"" + std::string(key) + "\" is not supported (must be null)");
}

// Sequence[Split(Regex, Isolated, invert false), ByteLevel(add_prefix_space false, use_regex
// false)].
SplitRegex parse_pre_tokenizer(const json::value& v) {
  const json::object& seq = as_object(v, "pre_tokenizer");
  if (type_of(seq, "pre_tokenizer") != "Sequence")
    throw FormatError("pre_tokenizer type \"" + std::string(type_of(seq, "pre_tokenizer")) +
                      "\" is not supported (only Sequence[Split, ByteLevel])");
  const json::array& items =
      as_array(member(seq, "pretokenizers", "pre_tokenizer"), "pre_tokenizer.pretokenizers");
  if (items.size() != 2)
    throw FormatError("pre_tokenizer Sequence of " + std::to_string(items.size()) +
                      " items is not supported (only Sequence[Split, ByteLevel])");
  const json::object& split = as_object(items[0], "pre_tokenizer[0]");
  if (type_of(split, "pre_tokenizer[0]") != "Split")
    throw FormatError("pre_tokenizer[0] must be Split, not \"" +
                      std::string(type_of(split, "pre_tokenizer[0]")) + "\"");
  const json::object& pattern = as_object(member(split, "pattern", "Split"), "Split.pattern");
  const json::value* regex = find(pattern, "Regex");
  if (regex == nullptr)
    throw FormatError("Split.pattern other than {\"Regex\": ...} is not supported");
  const std::string_view behavior = as_string(member(split, "behavior", "Split"), "Split.behavior");
  if (behavior != "Isolated")
    throw FormatError("Split behavior \"" + std::string(behavior) +
                      "\" is not supported (only Isolated)");
  if (flag(split, "invert", false, "Split"))
    throw FormatError("Split invert=true is not supported");

  const json::object& byte_level = as_object(items[1], "pre_tokenizer[1]");
  if (type_of(byte_level, "pre_tokenizer[1]") != "ByteLevel")
    throw FormatError("pre_tokenizer[1] must be ByteLevel, not \"" +
                      std::string(type_of(byte_level, "pre_tokenizer[1]")) + "\"");
  if (flag(byte_level, "add_prefix_space", true, "ByteLevel"))
    throw FormatError("ByteLevel pre-tokenizer add_prefix_space=true is not supported");
  if (flag(byte_level, "use_regex", true, "ByteLevel"))
    throw FormatError("ByteLevel pre-tokenizer use_regex=true is not supported");
  return SplitRegex(as_string(*regex, "Split.pattern.Regex"));
}

struct ModelParts {
  StringMap<std::int32_t> vocab;  // token string → id
  std::vector<BpeModel::MergeRule> merges;
  bool ignore_merges = false;
};

// One merge, "a b" or ["a", "b"], resolved against the vocabulary. `joined` is scratch space.
BpeModel::MergeRule parse_merge(const json::value& m, std::size_t rank,
                                const StringMap<std::int32_t>& vocab, std::string& joined) {
  const auto where = [rank] { return "model.merges[" + std::to_string(rank) + "]"; };
  std::string_view left;
  std::string_view right;
  if (m.is_string()) {
    const std::string_view s = m.get_string();
    const std::size_t space = s.find(' ');
    if (space == std::string_view::npos || s.find(' ', space + 1) != std::string_view::npos)
      throw FormatError(where() + " \"" + std::string(s) +
                        "\" is not two tokens separated by one space");
    left = s.substr(0, space);
    right = s.substr(space + 1);
  } else if (m.is_array() && m.get_array().size() == 2 && m.get_array()[0].is_string() &&
             m.get_array()[1].is_string()) {
    left = m.get_array()[0].get_string();
    right = m.get_array()[1].get_string();
  } else {
    throw FormatError(where() + " is neither \"a b\" nor [a, b] (strings)");
  }
  const auto id_of = [&](std::string_view token) {
    const auto it = vocab.find(token);
    if (it == vocab.end())
      throw FormatError(where() + ": token \"" + std::string(token) + "\" is not in model.vocab");
    return it->second;
  };
  joined.assign(left);
  joined.append(right);
  return BpeModel::MergeRule{id_of(left), id_of(right), id_of(joined)};
}

ModelParts parse_model(const json::value& v) {
  const json::object& model = as_object(v, "model");
  if (type_of(model, "model") != "BPE")
    throw FormatError("model type \"" + std::string(type_of(model, "model")) +
                      "\" is not supported (only BPE)");
  if (!null_or_absent(model, "dropout")) throw FormatError("model.dropout is not supported");
  for (const std::string_view key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    const json::value* affix = find(model, key);
    if (affix != nullptr && !affix->is_null() &&
        !(affix->is_string() && affix->get_string().empty()))
      throw FormatError("model." + std::string(key) + " is not supported");
  }
  if (flag(model, "byte_fallback", false, "model"))
    throw FormatError("model.byte_fallback=true is not supported");

  ModelParts parts;
  parts.ignore_merges = flag(model, "ignore_merges", false, "model");
  const json::object& vocab = as_object(member(model, "vocab", "model"), "model.vocab");
  parts.vocab.reserve(vocab.size());
  for (const auto& kv : vocab)
    parts.vocab.emplace(std::string(kv.key()), token_id(kv.value(), "model.vocab entry"));
  const json::array& merges = as_array(member(model, "merges", "model"), "model.merges");
  parts.merges.reserve(merges.size());
  std::string joined;
  for (std::size_t rank = 0; rank < merges.size(); ++rank)
    parts.merges.push_back(parse_merge(merges[rank], rank, parts.vocab, joined));
  return parts;
}

std::vector<AddedToken> parse_added_tokens(const json::value* v) {
  std::vector<AddedToken> out;
  if (v == nullptr || v->is_null()) return out;
  const json::array& items = as_array(*v, "added_tokens");
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    const json::object& t = as_object(items[i], where);
    AddedToken token;
    token.id = token_id(member(t, "id", where), where + ".id");
    token.content = as_string(member(t, "content", where), where + ".content");
    token.special = flag(t, "special", false, where);
    token.normalized = flag(t, "normalized", !token.special, where);
    for (const std::string_view key : {"single_word", "lstrip", "rstrip"})
      if (flag(t, key, false, where))
        throw FormatError(where + " (\"" + token.content + "\") uses " + std::string(key) +
                          "=true, which is not supported");
    out.push_back(std::move(token));
  }
  return out;
}

struct Template {
  std::vector<std::int32_t> prefix;
  std::vector<std::int32_t> suffix;
};

Template parse_template(const json::object& tp) {
  const json::object& specials = as_object(member(tp, "special_tokens", "TemplateProcessing"),
                                           "TemplateProcessing.special_tokens");
  const json::array& single =
      as_array(member(tp, "single", "TemplateProcessing"), "TemplateProcessing.single");
  Template out;
  bool seen_sequence = false;
  for (const json::value& item_value : single) {
    const json::object& item = as_object(item_value, "TemplateProcessing.single item");
    if (const json::value* seq = find(item, "Sequence")) {
      const std::string_view id =
          as_string(member(as_object(*seq, "Sequence"), "id", "Sequence"), "Sequence.id");
      if (id != "A" || seen_sequence)
        throw FormatError("TemplateProcessing.single must hold sequence A exactly once");
      seen_sequence = true;
    } else if (const json::value* special = find(item, "SpecialToken")) {
      const std::string_view name = as_string(
          member(as_object(*special, "SpecialToken"), "id", "SpecialToken"), "SpecialToken.id");
      const json::value* entry = find(specials, name);
      if (entry == nullptr)
        throw FormatError("TemplateProcessing special token \"" + std::string(name) +
                          "\" is not in special_tokens");
      const json::array& ids =
          as_array(member(as_object(*entry, "special_tokens entry"), "ids", "special_tokens entry"),
                   "special_tokens ids");
      for (const json::value& id : ids)
        (seen_sequence ? out.suffix : out.prefix).push_back(token_id(id, "special_tokens ids"));
    } else {
      throw FormatError("TemplateProcessing.single item is neither Sequence nor SpecialToken");
    }
  }
  if (!seen_sequence) throw FormatError("TemplateProcessing.single lacks sequence A");
  return out;
}

// TemplateProcessing, ByteLevel (offsets only: no effect on ids) or a Sequence of them.
Template parse_post_processor(const json::value* v) {
  if (v == nullptr || v->is_null()) return {};
  const json::object& pp = as_object(*v, "post_processor");
  const std::string_view type = type_of(pp, "post_processor");
  if (type == "TemplateProcessing") return parse_template(pp);
  if (type == "ByteLevel") return {};
  if (type != "Sequence")
    throw FormatError("post_processor type \"" + std::string(type) + "\" is not supported");
  std::optional<Template> found;
  for (const json::value& item :
       as_array(member(pp, "processors", "post_processor"), "post_processor.processors")) {
    const json::object& p = as_object(item, "post_processor item");
    const std::string_view item_type = type_of(p, "post_processor item");
    if (item_type == "ByteLevel") continue;
    if (item_type != "TemplateProcessing" || found)
      throw FormatError("post_processor Sequence item \"" + std::string(item_type) +
                        "\" is not supported");
    found = parse_template(p);
  }
  return found.value_or(Template{});
}

void check_decoder(const json::value* v) {
  if (v == nullptr || v->is_null())
    throw FormatError("a null decoder is not supported (only ByteLevel)");
  const std::string_view type = type_of(as_object(*v, "decoder"), "decoder");
  if (type != "ByteLevel")
    throw FormatError("decoder type \"" + std::string(type) +
                      "\" is not supported (only ByteLevel)");
}

json::value read_json(const std::filesystem::path& path) {
  std::string text;
  try {
    text = read_regular_file(path, kMaxTokenizerFileBytes);
  } catch (const FileReadError& e) {
    throw FormatError(e.what());
  }
  boost::system::error_code ec;
  // Many small strings: a monotonic arena parses the 17 MB Llama-3 file much faster.
  json::value v = json::parse(text, ec, json::make_shared_resource<json::monotonic_resource>());
  if (ec) throw FormatError("invalid JSON: " + ec.message());
  return v;
}

TokenizerData build(const std::filesystem::path& path) {
  const json::value doc = read_json(path);
  const json::object& root = as_object(doc, "the document");
  require_null(root, "normalizer");
  require_null(root, "truncation");
  require_null(root, "padding");
  SplitRegex split = parse_pre_tokenizer(member(root, "pre_tokenizer", "the document"));
  ModelParts model = parse_model(member(root, "model", "the document"));
  const std::vector<AddedToken> added = parse_added_tokens(find(root, "added_tokens"));
  Template tmpl = parse_post_processor(find(root, "post_processor"));
  check_decoder(find(root, "decoder"));

  std::size_t size = 0;
  for (const auto& [token, id] : model.vocab) size = std::max<std::size_t>(size, id + 1);
  for (const AddedToken& t : added) size = std::max<std::size_t>(size, t.id + 1);
  std::vector<std::string> tokens(size);
  std::vector<std::uint8_t> present(size, 0);
  std::vector<std::uint8_t> special(size, 0);
  StringMap<std::int32_t> bpe_vocab;  // bytes → id
  bpe_vocab.reserve(model.vocab.size());
  for (const auto& [token, id] : model.vocab) {
    tokens[id] = token;
    present[id] = 1;
    if (auto bytes = byte_level::decode(token)) bpe_vocab.emplace(std::move(*bytes), id);
  }
  StringMap<std::int32_t> token_ids = std::move(model.vocab);
  for (const AddedToken& t : added) {
    tokens[t.id] = t.content;
    present[t.id] = 1;
    special[t.id] = t.special ? 1 : 0;
    token_ids[t.content] = t.id;
  }
  for (const auto ids : {&tmpl.prefix, &tmpl.suffix})
    for (const std::int32_t id : *ids)
      if (static_cast<std::size_t>(id) >= size || !present[id])
        throw FormatError("post_processor uses token id " + std::to_string(id) +
                          ", which is not in the vocabulary");
  std::vector<std::string> decoded(size);
  for (std::size_t id = 0; id < size; ++id)
    decoded[id] = byte_level::decode(tokens[id]).value_or(tokens[id]);

  return TokenizerData{path,
                       AddedVocabulary(added),
                       std::move(split),
                       BpeModel(std::move(bpe_vocab), model.merges, model.ignore_merges),
                       std::move(tmpl.prefix),
                       std::move(tmpl.suffix),
                       std::move(tokens),
                       std::move(decoded),
                       std::move(present),
                       std::move(special),
                       std::move(token_ids)};
}

}  // namespace

TokenizerData parse_tokenizer_json(const std::filesystem::path& path) {
  try {
    return build(path);
  } catch (const FormatError& e) {
    throw FormatError("tokenizer " + path.string() + ": " + e.what());
  }
}

}  // namespace hs
