#include "tests/daemon/ws_test_client.h"

#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <opus/opus.h>

namespace hs::test {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace net = boost::asio;
namespace json = boost::json;
using tcp = net::ip::tcp;

namespace {

constexpr int kMaxOpusFrameSamples = 5760;  // 120 ms at 48 kHz, libopus' largest frame

tcp::endpoint local(unsigned short port) { return {net::ip::make_address("127.0.0.1"), port}; }

}  // namespace

WsClient::WsClient(unsigned short port, const std::string& target, const std::map<std::string, std::string>& headers,
                   int receive_buffer_bytes)
    : ws_(ioc_) {
  auto& stream = beast::get_lowest_layer(ws_);
  stream.expires_after(kClientDeadline);
  if (receive_buffer_bytes > 0) {
    stream.socket().open(tcp::v4());
    stream.socket().set_option(net::socket_base::receive_buffer_size(receive_buffer_bytes));
  }
  stream.connect(local(port));
  ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [name, value] : headers) req.set(name, value);
  }));
  ws_.handshake("127.0.0.1:" + std::to_string(port), target);
}

void WsClient::send_text(const std::string& text) {
  beast::get_lowest_layer(ws_).expires_after(kClientDeadline);
  ws_.text(true);
  ws_.write(net::buffer(text));
}

void WsClient::send_binary(const std::string& data) {
  beast::get_lowest_layer(ws_).expires_after(kClientDeadline);
  ws_.binary(true);
  ws_.write(net::buffer(data));
}

WsMessage WsClient::read() {
  beast::get_lowest_layer(ws_).expires_after(kClientDeadline);
  buffer_.clear();
  ws_.read(buffer_);
  return WsMessage{ws_.got_binary(), beast::buffers_to_string(buffer_.data())};
}

json::object WsClient::read_json() {
  const WsMessage m = read();
  if (m.binary) throw std::runtime_error("expected a text message, got " + std::to_string(m.data.size()) + " binary bytes");
  return json::parse(m.data).as_object();
}

SongTranscript WsClient::generate(const json::object& request) {
  send_text(json::serialize(request));
  return read_song();
}

SongTranscript WsClient::read_song() {
  SongTranscript t;
  while (true) {
    const WsMessage m = read();
    if (m.binary) {
      t.packets.push_back(m.data);
      continue;
    }
    json::object o = json::parse(m.data).as_object();
    const auto type = o.at("type").as_string();
    if (type == "queued") {
      t.queued.push_back(o.at("position").as_int64());
    } else if (type == "started") {
      t.started = std::move(o);
    } else if (type == "progress") {
      t.progress.push_back(std::move(o));
    } else {
      t.end = std::move(o);
      return t;
    }
  }
}

void WsClient::close() {
  beast::get_lowest_layer(ws_).expires_after(kClientDeadline);
  ws_.close(websocket::close_code::normal);
}

void WsClient::abort() { beast::get_lowest_layer(ws_).close(); }

void WsClient::ping() {
  beast::get_lowest_layer(ws_).expires_after(kClientDeadline);
  ws_.ping({});
}

void WsClient::send_raw(const std::string& bytes) {
  beast::get_lowest_layer(ws_).expires_after(kClientDeadline);
  net::write(beast::get_lowest_layer(ws_).socket(), net::buffer(bytes));
}

HttpResult http_request(unsigned short port, http::verb method, const std::string& target, const std::string& body,
                        const std::map<std::string, std::string>& headers) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.expires_after(kClientDeadline);
  stream.connect(local(port));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) req.set(name, value);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  HttpResult out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.transfer_encoding = std::string(res[http::field::transfer_encoding]);
  out.body = res.body();
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return out;
}

std::int64_t decode_opus_packets(const std::vector<std::string>& packets) {
  int err = 0;
  OpusDecoder* decoder = opus_decoder_create(48000, 2, &err);
  if (err != OPUS_OK) return -1;
  std::vector<float> pcm(static_cast<std::size_t>(kMaxOpusFrameSamples) * 2);
  std::int64_t samples = 0;
  for (const auto& p : packets) {
    const int n = opus_decode_float(decoder, reinterpret_cast<const unsigned char*>(p.data()),
                                    static_cast<opus_int32>(p.size()), pcm.data(), kMaxOpusFrameSamples, 0);
    if (n < 0) {
      samples = -1;
      break;
    }
    samples += n;
  }
  opus_decoder_destroy(decoder);
  return samples;
}

boost::json::object song_request(std::int64_t max_audio_length_ms, std::uint64_t seed) {
  return {{"type", "generate"}, {"tags", "piano"}, {"lyrics", "[verse] la la"},
          {"max_audio_length_ms", max_audio_length_ms}, {"seed", seed}};
}

boost::json::object queued_message(int position) { return {{"type", "queued"}, {"position", position}}; }

std::optional<double> metric_value(const std::string& text, const std::string& name) {
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name + " ", 0) == 0) return std::stod(line.substr(name.size() + 1));
  }
  return std::nullopt;
}

}  // namespace hs::test
