#include "daemon/shared_state.h"

#include <cctype>
#include <vector>

#include <boost/json.hpp>

#include "daemon/protocol.h"

namespace hs::daemon {
namespace {

constexpr std::string_view kBearer = "bearer";
constexpr std::string_view kTokenParam = "token=";
constexpr int kProtocolVersion = 1;

// `given` equals `secret`, in time that depends on the secret's length only: every byte of the
// secret is compared, whatever was given and wherever it differs.
bool same_secret(std::string_view given, std::string_view secret) {
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (std::size_t i = 0; i < secret.size(); ++i) {
    const char g = i < given.size() ? given[i] : '\0';
    diff |= static_cast<unsigned char>(g ^ secret[i]);
  }
  return diff == 0;
}

// The credentials of "Bearer <token>": the scheme in any case, then one or more spaces (RFC 9110
// 11.4); "" for any other scheme.
std::string_view bearer_token(std::string_view authorization) {
  const auto space = authorization.find(' ');
  if (space != kBearer.size()) return {};
  for (std::size_t i = 0; i < kBearer.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kBearer[i]) return {};
  const auto token = authorization.find_first_not_of(' ', space);
  return token == std::string_view::npos ? std::string_view{} : authorization.substr(token);
}

// The value of `token=` in the target's query string, or "" (no percent-decoding: tokens are
// expected to be URL-safe).
std::string_view query_token(std::string_view target) {
  const auto q = target.find('?');
  if (q == std::string_view::npos) return {};
  std::string_view query = target.substr(q + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    if (param.rfind(kTokenParam, 0) == 0) return param.substr(kTokenParam.size());
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return {};
}

}  // namespace

SharedState::SharedState(DaemonConfig config, EnginePool& engines, Metrics& metrics, std::filesystem::path web_root)
    : config_(std::move(config)),
      engines_(&engines),
      metrics_(&metrics),
      static_files_(std::move(web_root)),
      connection_limits_(std::make_shared<ConnectionLimits>(config_.server.max_connections,
                                                            config_.server.max_connections_per_address)) {}

bool SharedState::authorized(std::string_view authorization) const {
  const std::string& token = config_.server.auth_token;
  if (token.empty()) return true;
  const std::string_view given = bearer_token(authorization);
  return !given.empty() && same_secret(given, token);
}

bool SharedState::authorized_websocket(std::string_view authorization, std::string_view target) const {
  if (authorized(authorization)) return true;
  const std::string_view from_query = query_token(target);
  return !from_query.empty() && same_secret(from_query, config_.server.auth_token);
}

std::string SharedState::info_json() const {
  namespace json = boost::json;
  const auto& g = config_.generation;
  json::array workers;
  EngineWorker::Load load;  // the workers' songs summed
  for (std::size_t i = 0; i < engines_->size(); ++i) {
    const EngineWorker& w = engines_->worker(i);
    const EngineWorker::Load l = w.load();
    load.running += l.running;
    load.queued += l.queued;
    workers.push_back(json::object{{"device", w.device()},
                                   {"model", w.model_description()},
                                   {"running", l.running},
                                   {"queued", l.queued},
                                   {"max_sessions", w.options().max_sessions}});
  }
  const std::optional<double>& headroom = config_.server.realtime_headroom;
  return json::serialize(json::object{
      {"protocol", kProtocolVersion},
      {"model", engines_->worker(0).model_description()},
      {"version", config_.model.version},
      {"device", config_.model.device},
      {"precision", config_.model.precision},
      {"stream", {{"sample_rate", kStreamSampleRateHz}, {"channels", kStreamChannels}, {"codec", kStreamCodec},
                  {"frame_ms", kStreamFrameMs}}},
      {"defaults", {{"max_audio_length_ms", g.max_audio_length_ms}, {"topk", g.topk}, {"temperature", g.temperature},
                    {"cfg_scale", g.cfg_scale}}},
      {"limits", {{"max_audio_length_ms", g.max_audio_length_ms_limit}, {"max_tags_bytes", g.max_tags_bytes},
                  {"max_lyrics_bytes", g.max_lyrics_bytes}, {"max_sessions", config_.server.max_sessions},
                  {"queue_limit", config_.server.queue_limit}, {"max_message_bytes", config_.server.max_message_bytes}}},
      {"load", {{"running", load.running}, {"queued", load.queued}}},
      {"workers", std::move(workers)},
      {"realtime_headroom", headroom ? json::value(*headroom) : json::value(nullptr)},
      {"auth", !config_.server.auth_token.empty()},
  });
}

void SharedState::join(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  connections_[connection.get()] = connection;
}

void SharedState::leave(const Connection* connection) {
  std::lock_guard lock(mutex_);
  connections_.erase(connection);
}

void SharedState::shut_down_all() {
  std::vector<std::shared_ptr<Connection>> live;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (auto& [key, weak] : connections_)
      if (auto c = weak.lock()) live.push_back(std::move(c));
  }
  for (auto& c : live) c->shut_down();
}

bool SharedState::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

}  // namespace hs::daemon
