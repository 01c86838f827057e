// The upstream engine against a scripted loopback HTTP server (run under ASan and UBSan: a leak
// or a use after free in the engine fails these tests too).
#include <gtest/gtest.h>
#include <poll.h>
#include <strings.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "loopback_server.hpp"
#include "output_oracle.hpp"
#include "support.hpp"
#include "zaiproxy/engine.hpp"

namespace zaiproxy {
namespace {

using namespace std::chrono_literals;
using testing::LoopbackServer;
using testing::RecordedRequest;
using testing::ScriptedResponse;
using Clock = std::chrono::steady_clock;
using Framing = ScriptedResponse::Framing;

// Long enough for a loaded machine, short enough that a stuck engine fails instead of hanging.
constexpr auto kPatience = 10s;

// The suite runs once per event backend (CMakeLists.txt): ZAIPROXY_TEST_EVENT_BACKEND=portable
// runs it through poll() and a self-pipe, what macOS gets.
EngineOptions test_options() {
  EngineOptions options;
  const char* backend = std::getenv("ZAIPROXY_TEST_EVENT_BACKEND");
  if (backend != nullptr && std::string_view(backend) == "portable")
    options.event_backend = EventBackend::Portable;
  return options;
}

struct Outcome {
  std::string output;
  bool ended = false;  // false: the stream did not end within the patience
};

// Reads the stream to its end, as a blocking reader does.
Outcome read_all(Stream& stream, std::chrono::milliseconds patience = kPatience) {
  Outcome outcome;
  const Clock::time_point deadline = Clock::now() + patience;
  while (Clock::now() < deadline) {
    if (!stream.wait(50ms)) continue;
    if (stream.take(outcome.output)) {
      outcome.ended = true;
      break;
    }
  }
  return outcome;
}

HttpRequest get(const LoopbackServer& server, std::string_view target = "/") {
  HttpRequest request;
  request.url = server.url(target);
  return request;
}

HttpRequest completion_request(const LoopbackServer& server) {
  HttpRequest request;
  request.method = "POST";
  request.url = server.url("/api/v2/chat/completions?signature_timestamp=1");
  request.headers = {{"Content-Type", "application/json"}};
  request.body = R"({"stream":true})";
  return request;
}

PipelineOptions openai_sse() {
  PipelineOptions options;
  options.output = OutputFormat::OpenAiSse;
  return options;
}

// An SSE body split into pieces of `size` bytes (cutting lines and UTF-8 sequences anywhere).
ScriptedResponse sse_response(const std::string& body, size_t size = 37,
                              std::chrono::milliseconds delay = 0ms) {
  ScriptedResponse response;
  response.headers = {{"Content-Type", "text/event-stream"}};
  response.framing = Framing::Chunked;
  for (size_t at = 0; at < body.size(); at += size) response.add(body.substr(at, size), delay);
  return response;
}

std::string sse_event(const std::string& phase, const std::string& delta) {
  nlohmann::json event = {{"type", "chat:completion"},
                          {"data", {{"delta_content", delta}, {"phase", phase}}}};
  return "data: " + event.dump() + "\n\n";
}

std::string stream_a() { return testing::read_golden("a_plain_answer.sse"); }

nlohmann::json expected(const std::string& stream) {
  return nlohmann::json::parse(testing::read_golden("expected.json")).at(stream);
}

bool has_header(const std::vector<std::pair<std::string, std::string>>& headers,
                const std::string& name, const std::string& value) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& header) {
    return strcasecmp(header.first.c_str(), name.c_str()) == 0 && header.second == value;
  });
}

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds patience) {
  const Clock::time_point deadline = Clock::now() + patience;
  while (!condition()) {
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// ───── raw requests ─────

TEST(Engine, RawGetReturnsStatusHeadersAndBody) {
  LoopbackServer server;
  ScriptedResponse response;
  response.status = 404;
  response.headers = {{"X-Test", "yes"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}};
  response.add("first ").add("second ", 30ms).add("third", 30ms);
  server.enqueue(response);
  Engine engine(test_options());
  auto stream = engine.open(get(server, "/path?q=1"), std::nullopt);
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_EQ(outcome.output, "first second third");  // raw streams pass any status through
  EXPECT_EQ(stream->status(), 404);
  EXPECT_FALSE(stream->failure());
  const auto headers = stream->response_headers();
  EXPECT_TRUE(has_header(headers, "x-test", "yes"));
  EXPECT_TRUE(has_header(headers, "Set-Cookie", "a=1"));
  EXPECT_TRUE(has_header(headers, "Set-Cookie", "b=2"));
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_EQ(requests[0].target, "/path?q=1");
  EXPECT_TRUE(requests[0].body.empty());
  const EngineStats stats = engine.stats();
  EXPECT_EQ(stats.opened, 1u);
  EXPECT_EQ(stats.completed, 1u);
  EXPECT_EQ(stats.active, 0u);
  EXPECT_EQ(stats.bytes_delivered, outcome.output.size());
}

TEST(Engine, PostBodyAndHeadersArriveExactly) {
  LoopbackServer server;
  ScriptedResponse ok;
  ok.add("ok");
  server.enqueue(ok);
  server.enqueue(ok);
  Engine engine(test_options());
  HttpRequest request;
  request.method = "POST";
  request.url = server.url("/submit");
  request.headers = {{"Content-Type", "application/octet-stream"},
                     {"Authorization", "Bearer t0k3n"},
                     {"X-Custom", "  spaced value  "}};
  // Binary, NUL bytes and UTF-8, and large enough that curl would ask for 100-continue.
  request.body = std::string("a\0b\r\n", 5) + "签名 " + std::string(2 * 1024 * 1024, 'x');
  auto post = engine.open(request, std::nullopt);
  ASSERT_TRUE(read_all(*post).ended);
  EXPECT_EQ(post->status(), 200);

  HttpRequest put;
  put.method = "PUT";
  put.url = server.url("/put");
  put.body = "put body";
  auto second = engine.open(put, std::nullopt);
  ASSERT_TRUE(read_all(*second).ended);

  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 2u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/submit");
  EXPECT_TRUE(requests[0].body == request.body) << "body differs";
  ASSERT_NE(requests[0].header("Content-Length"), nullptr);
  EXPECT_EQ(*requests[0].header("Content-Length"), std::to_string(request.body.size()));
  ASSERT_NE(requests[0].header("authorization"), nullptr);
  EXPECT_EQ(*requests[0].header("authorization"), "Bearer t0k3n");
  ASSERT_NE(requests[0].header("X-Custom"), nullptr);
  EXPECT_EQ(*requests[0].header("X-Custom"), "spaced value");
  ASSERT_NE(requests[0].header("Content-Type"), nullptr);
  EXPECT_EQ(*requests[0].header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(requests[0].header("Expect"), nullptr);
  EXPECT_EQ(requests[1].method, "PUT");
  EXPECT_EQ(requests[1].body, "put body");
  EXPECT_EQ(requests[1].header("Expect"), nullptr);
}

// ───── pipeline streams ─────

TEST(Engine, PipelineTurnsStreamAIntoOpenAiSse) {
  LoopbackServer server;
  server.enqueue(sse_response(stream_a()));
  Engine engine(test_options());
  auto stream = engine.open(completion_request(server), openai_sse());
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_FALSE(stream->failure());
  EXPECT_FALSE(stream->error());
  EXPECT_EQ(stream->status(), 200);
  const auto parsed = testing::parse_openai_sse(outcome.output);
  EXPECT_TRUE(parsed.problems.empty()) << testing::describe(parsed.problems);
  const nlohmann::json a = expected("a_plain_answer");
  EXPECT_EQ(parsed.content, a.at("content").get<std::string>());
  EXPECT_EQ(parsed.reasoning, a.at("reasoning").get<std::string>());
  EXPECT_EQ(parsed.finish_reason, "stop");
  const Usage usage = stream->usage();
  EXPECT_EQ(usage.prompt_tokens, a.at("usage")[0].get<int64_t>());
  EXPECT_EQ(usage.completion_tokens, a.at("usage")[1].get<int64_t>());
  EXPECT_EQ(usage.total_tokens, a.at("usage")[2].get<int64_t>());
  EXPECT_EQ(stream->finish_reason(), FinishReason::Stop);
  const auto requests = server.requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].body, R"({"stream":true})");
}

TEST(Engine, NonSuccessStatusWithPipelineIsAnHttpFailureWithoutOutput) {
  LoopbackServer server;
  ScriptedResponse refused;
  refused.status = 429;
  refused.headers = {{"Content-Type", "application/json"}};
  const std::string body = R"({"detail":"Too many requests in flight","code":429})";
  refused.add(body.substr(0, 10)).add(body.substr(10), 20ms);
  server.enqueue(refused);
  Engine engine(test_options());
  auto stream = engine.open(completion_request(server), openai_sse());
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_EQ(outcome.output, "");
  const auto failure = stream->failure();
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->kind, TransferFailure::Kind::Http);
  EXPECT_EQ(failure->http_status, 429);
  EXPECT_EQ(failure->code, "429");
  EXPECT_EQ(failure->body.rfind(body, 0), 0u) << failure->body;
  EXPECT_NE(failure->message.find("Too many requests"), std::string::npos) << failure->message;
  EXPECT_EQ(stream->status(), 429);
  EXPECT_EQ(engine.stats().failed, 1u);
  EXPECT_EQ(engine.stats().bytes_delivered, 0u);
}

TEST(Engine, InStreamErrorBeforeContentIsAnInStreamFailure) {
  LoopbackServer server;
  server.enqueue(sse_response(testing::read_golden("e1_error_426.sse"), 16));
  Engine engine(test_options());
  auto stream = engine.open(completion_request(server), openai_sse());
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_EQ(outcome.output, "");
  const auto failure = stream->failure();
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->kind, TransferFailure::Kind::InStream);
  EXPECT_EQ(failure->code, "426");
  EXPECT_FALSE(failure->message.empty());
  EXPECT_EQ(engine.stats().failed, 1u);
}

TEST(Engine, ConnectionDropAfterContentEndsWithAnInBandErrorFrame) {
  for (const Framing framing : {Framing::Chunked, Framing::ContentLength}) {
    SCOPED_TRACE(framing == Framing::Chunked ? "chunked" : "content-length");
    LoopbackServer server;
    // One piece per event: cut the connection after two of them.
    ScriptedResponse response = sse_response("");
    for (const char* word : {"one ", "two ", "three"})
      response.add(sse_event("answer", word), 20ms);
    response.framing = framing;
    response.disconnect_after = 2;
    server.enqueue(response);
    Engine engine(test_options());
    auto stream = engine.open(completion_request(server), openai_sse());
    const Outcome outcome = read_all(*stream);
    ASSERT_TRUE(outcome.ended);
    EXPECT_FALSE(stream->failure());
    const auto parsed = testing::parse_openai_sse(outcome.output);
    EXPECT_TRUE(parsed.problems.empty()) << testing::describe(parsed.problems);
    EXPECT_EQ(parsed.content, "one two ");
    EXPECT_TRUE(parsed.error) << outcome.output;
    const std::string done = "data: [DONE]\n\n";
    EXPECT_TRUE(outcome.output.size() >= done.size() &&
                outcome.output.compare(outcome.output.size() - done.size(), done.size(), done) == 0)
        << outcome.output;
    const auto error = stream->error();
    ASSERT_TRUE(error);
    EXPECT_EQ(error->origin, StreamError::Origin::Transport);
    EXPECT_EQ(engine.stats().completed, 1u);
    EXPECT_EQ(engine.stats().failed, 0u);
  }
}

TEST(Engine, ConnectionDropBeforeAnyByteIsANetworkFailure) {
  LoopbackServer server;
  ScriptedResponse response = sse_response(sse_event("answer", "never"));
  response.disconnect_after = 0;
  server.enqueue(response);
  Engine engine(test_options());
  auto stream = engine.open(completion_request(server), openai_sse());
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_EQ(outcome.output, "");
  ASSERT_TRUE(stream->failure());
  EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Network);
}

// ───── cancellation and flow control ─────

TEST(Engine, CancelMidStreamFreesEverything) {
  LoopbackServer server;
  ScriptedResponse response = sse_response("");
  response.add(sse_event("answer", "first "));
  response.stall = 30s;
  server.enqueue(response);
  Engine engine(test_options());
  auto stream = engine.open(completion_request(server), openai_sse());
  std::string output;
  ASSERT_TRUE(stream->wait(kPatience));
  EXPECT_FALSE(stream->take(output));
  EXPECT_NE(output.find("first "), std::string::npos);
  stream->cancel();
  stream->cancel();  // idempotent
  const Outcome rest = read_all(*stream);
  ASSERT_TRUE(rest.ended);
  EXPECT_EQ(rest.output, "");
  ASSERT_TRUE(stream->failure());
  EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Cancelled);
  EXPECT_TRUE(server.wait_for_clients_gone(1, kPatience)) << "the upstream connection stayed open";
  EXPECT_TRUE(eventually([&] { return engine.stats().active == 0; }, kPatience));
  const EngineStats stats = engine.stats();
  EXPECT_EQ(stats.cancelled, 1u);
  EXPECT_EQ(stats.completed, 0u);
  EXPECT_EQ(stats.failed, 0u);
}

TEST(Engine, DroppingAnUnreadStreamCancelsIt) {
  LoopbackServer server;
  ScriptedResponse response;
  response.add("partial");
  response.framing = Framing::Chunked;
  response.stall = 30s;
  server.enqueue(response);
  Engine engine(test_options());
  auto stream = engine.open(get(server), std::nullopt);
  ASSERT_TRUE(stream->wait(kPatience));
  stream.reset();
  EXPECT_TRUE(server.wait_for_clients_gone(1, kPatience));
  EXPECT_TRUE(eventually([&] { return engine.stats().active == 0; }, kPatience));
  EXPECT_EQ(engine.stats().cancelled, 1u);
}

TEST(Engine, SlowReaderPausesTheTransferAndLosesNothing) {
  LoopbackServer server;
  // Raw: the output is the body, byte for byte.
  ScriptedResponse raw;
  std::string body;
  for (int i = 0; body.size() < 1024 * 1024; ++i) body += std::to_string(i) + ",";
  for (size_t at = 0; at < body.size(); at += 64 * 1024) raw.add(body.substr(at, 64 * 1024));
  server.enqueue(raw);
  // Pipeline: a long answer.
  std::string sse;
  std::string answer;
  for (int i = 0; i < 4000; ++i) {
    const std::string word = "w" + std::to_string(i) + " ";
    sse += sse_event("answer", word);
    answer += word;
  }
  server.enqueue(sse_response(sse, 8192));

  EngineOptions options = test_options();
  options.stream_buffer_bytes = 4096;
  Engine engine(options);
  auto slow_read = [](Stream& stream) {
    Outcome outcome;
    const Clock::time_point deadline = Clock::now() + 60s;
    while (Clock::now() < deadline) {
      std::this_thread::sleep_for(1ms);  // a slow reader
      if (!stream.wait(50ms)) continue;
      if (stream.take(outcome.output)) {
        outcome.ended = true;
        break;
      }
    }
    return outcome;
  };
  auto raw_stream = engine.open(get(server), std::nullopt);
  const Outcome raw_outcome = slow_read(*raw_stream);
  ASSERT_TRUE(raw_outcome.ended);
  EXPECT_FALSE(raw_stream->failure());
  EXPECT_TRUE(raw_outcome.output == body)
      << "raw output differs: " << raw_outcome.output.size() << " bytes of " << body.size();
  const uint64_t raw_pauses = engine.stats().paused;
  EXPECT_GT(raw_pauses, 0u);

  auto sse_stream = engine.open(completion_request(server), openai_sse());
  const Outcome sse_outcome = slow_read(*sse_stream);
  ASSERT_TRUE(sse_outcome.ended);
  const auto parsed = testing::parse_openai_sse(sse_outcome.output);
  EXPECT_TRUE(parsed.problems.empty()) << testing::describe(parsed.problems);
  EXPECT_EQ(parsed.content, answer);
  EXPECT_FALSE(parsed.error);
  EXPECT_GT(engine.stats().paused, raw_pauses);
  EXPECT_EQ(engine.stats().completed, 2u);
}

// ───── timeouts ─────

TEST(Engine, FirstByteTimeout) {
  LoopbackServer server;
  ScriptedResponse late;
  late.head_delay = 5s;
  late.add("late");
  server.enqueue(late);
  EngineOptions options = test_options();
  options.first_byte_timeout = 300ms;
  Engine engine(options);
  const Clock::time_point started = Clock::now();
  auto stream = engine.open(get(server), std::nullopt);
  const Outcome outcome = read_all(*stream);
  const auto took = Clock::now() - started;
  ASSERT_TRUE(outcome.ended);
  EXPECT_EQ(outcome.output, "");
  ASSERT_TRUE(stream->failure());
  EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Timeout);
  EXPECT_EQ(stream->failure()->http_status, 504);
  EXPECT_NE(stream->failure()->message.find("first byte"), std::string::npos);
  EXPECT_GE(took, 300ms);
  EXPECT_LT(took, 3s);
  EXPECT_TRUE(server.wait_for_clients_gone(1, kPatience));
}

TEST(Engine, IdleTimeoutAfterContentEndsInBand) {
  LoopbackServer server;
  ScriptedResponse response = sse_response("");
  response.add(sse_event("answer", "early ")).add(sse_event("answer", "late"), 5s);
  server.enqueue(response);
  EngineOptions options = test_options();
  options.idle_timeout = 300ms;
  Engine engine(options);
  const Clock::time_point started = Clock::now();
  auto stream = engine.open(completion_request(server), openai_sse());
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_LT(Clock::now() - started, 3s);
  EXPECT_FALSE(stream->failure());
  const auto parsed = testing::parse_openai_sse(outcome.output);
  EXPECT_EQ(parsed.content, "early ");
  ASSERT_TRUE(parsed.error) << outcome.output;
  EXPECT_NE(parsed.error->dump().find("idle timeout"), std::string::npos) << parsed.error->dump();
}

TEST(Engine, IdleTimeoutOfARawStreamIsReportedAfterItsOutput) {
  LoopbackServer server;
  ScriptedResponse response;
  response.framing = Framing::Chunked;
  response.add("some ");
  response.stall = 5s;
  server.enqueue(response);
  EngineOptions options = test_options();
  options.idle_timeout = 300ms;
  Engine engine(options);
  auto stream = engine.open(get(server), std::nullopt);
  const Outcome outcome = read_all(*stream);
  ASSERT_TRUE(outcome.ended);
  EXPECT_EQ(outcome.output, "some ");
  ASSERT_TRUE(stream->failure());
  EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Timeout);
}

TEST(Engine, ConnectFailureIsAConnectFailure) {
  int port;
  {
    LoopbackServer closed;  // a port that was just free and is free again
    port = closed.port();
  }
  Engine engine(test_options());
  HttpRequest request;
  request.url = "http://127.0.0.1:" + std::to_string(port) + "/";
  auto stream = engine.open(request, openai_sse());
  ASSERT_TRUE(read_all(*stream).ended);
  ASSERT_TRUE(stream->failure());
  EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Connect);
  EXPECT_EQ(stream->failure()->http_status, 502);
}

// ───── engine lifetime ─────

ScriptedResponse stalled() {
  ScriptedResponse response;
  response.framing = Framing::Chunked;
  response.add("started ");
  response.stall = 30s;
  return response;
}

TEST(Engine, StopEndsStreamsInFlightAsCancelled) {
  // One server per stream: each stream has a connection of its own whatever curl's reuse rules.
  std::vector<std::unique_ptr<LoopbackServer>> servers;
  for (int i = 0; i < 4; ++i) {
    servers.push_back(std::make_unique<LoopbackServer>());
    servers.back()->set_handler([](const RecordedRequest&) { return stalled(); });
  }
  LoopbackServer& server = *servers[0];
  Engine engine(test_options());
  std::vector<std::shared_ptr<Stream>> streams;
  for (int i = 0; i < 3; ++i) streams.push_back(engine.open(get(*servers[i]), std::nullopt));
  streams.push_back(engine.open(completion_request(*servers[3]), openai_sse()));
  for (auto& each : servers) ASSERT_TRUE(each->wait_for_requests(1, kPatience));
  const Clock::time_point started = Clock::now();
  engine.stop();
  EXPECT_LT(Clock::now() - started, 3s);
  engine.stop();  // idempotent
  for (auto& stream : streams) {
    std::string output;
    EXPECT_TRUE(stream->wait(0ms));
    EXPECT_TRUE(stream->take(output));
    ASSERT_TRUE(stream->failure());
    EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Cancelled);
  }
  const EngineStats stats = engine.stats();
  EXPECT_EQ(stats.cancelled, 4u);
  EXPECT_EQ(stats.active, 0u);
  EXPECT_THROW(engine.open(get(server), std::nullopt), std::runtime_error);
  for (auto& each : servers) EXPECT_TRUE(each->wait_for_clients_gone(1, kPatience));
}

TEST(Engine, StopBeforeAnyStreamAndDestroyWithoutStop) {
  {
    Engine engine(test_options());
    engine.stop();
    EXPECT_THROW(engine.open(HttpRequest{}, std::nullopt), std::runtime_error);
  }
  LoopbackServer server;
  server.set_handler([](const RecordedRequest&) { return stalled(); });
  std::shared_ptr<Stream> stream;
  {
    Engine engine(test_options());
    stream = engine.open(get(server), std::nullopt);
    ASSERT_TRUE(server.wait_for_requests(1, kPatience));
  }  // the destructor stops the engine
  std::string output;
  EXPECT_TRUE(stream->take(output));
  ASSERT_TRUE(stream->failure());
  EXPECT_EQ(stream->failure()->kind, TransferFailure::Kind::Cancelled);
}

TEST(Engine, AStreamOutlivingItsEngineStaysSafe) {
  LoopbackServer server;
  server.set_handler([](const RecordedRequest& request) {
    if (request.target == "/done") {
      ScriptedResponse done;
      done.add("complete");
      return done;
    }
    return stalled();
  });
  auto engine = std::make_unique<Engine>(test_options());
  auto finished = engine->open(get(server, "/done"), std::nullopt);
  auto running = engine->open(get(server, "/stall"), std::nullopt);
  auto piped = engine->open(completion_request(server), openai_sse());
  ASSERT_TRUE(read_all(*finished).ended);
  ASSERT_TRUE(server.wait_for_requests(3, kPatience));
  ASSERT_TRUE(running->wait(kPatience));
  engine.reset();

  // Everything a reader may do, after the engine is gone.
  for (auto* stream : {finished.get(), running.get(), piped.get()}) {
    std::string output;
    EXPECT_TRUE(stream->wait(100ms));
    EXPECT_TRUE(stream->take(output));
    EXPECT_TRUE(stream->take(output));
    stream->cancel();
    stream->cancel();
    (void)stream->status();
    (void)stream->response_headers();
    (void)stream->usage();
    (void)stream->error();
    (void)stream->finish_reason();
  }
  EXPECT_FALSE(finished->failure());
  EXPECT_EQ(finished->status(), 200);
  ASSERT_TRUE(running->failure());
  EXPECT_EQ(running->failure()->kind, TransferFailure::Kind::Cancelled);
  ASSERT_TRUE(piped->failure());
  EXPECT_EQ(piped->failure()->kind, TransferFailure::Kind::Cancelled);
  // A stream dropped last, after its engine, must not touch freed memory either.
  finished.reset();
  running.reset();
  piped.reset();
}

// ───── many streams, readiness ─────

TEST(Engine, FiftyConcurrentStreamsAllComplete) {
  LoopbackServer server;
  server.set_handler([](const RecordedRequest& request) {
    ScriptedResponse response = sse_response(
        sse_event("answer", "reply to ") + sse_event("answer", request.target), 29, 2ms);
    return response;
  });
  Engine engine(test_options());
  constexpr int kStreams = 50;
  std::vector<std::shared_ptr<Stream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    HttpRequest request = completion_request(server);
    request.url = server.url("/n/" + std::to_string(i));
    streams.push_back(engine.open(request, openai_sse()));
  }
  std::set<uint64_t> ids;
  for (int i = 0; i < kStreams; ++i) {
    ids.insert(streams[i]->id());
    const Outcome outcome = read_all(*streams[i], 30s);
    ASSERT_TRUE(outcome.ended) << "stream " << i;
    EXPECT_FALSE(streams[i]->failure()) << "stream " << i;
    const auto parsed = testing::parse_openai_sse(outcome.output);
    EXPECT_TRUE(parsed.problems.empty()) << testing::describe(parsed.problems);
    EXPECT_EQ(parsed.content, "reply to /n/" + std::to_string(i));
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kStreams));
  const EngineStats stats = engine.stats();
  EXPECT_EQ(stats.opened, static_cast<uint64_t>(kStreams));
  EXPECT_EQ(stats.completed, static_cast<uint64_t>(kStreams));
  EXPECT_EQ(stats.active, 0u);
  EXPECT_EQ(server.requests().size(), static_cast<size_t>(kStreams));
}

// Streams to one HTTP/1.1 host (plain http, or a proxy) must not queue behind each other: a
// completion stream lasts minutes, and every other request to the host would wait for it.
TEST(Engine, StreamsToOneHttp1HostRunConcurrently) {
  LoopbackServer server;
  server.set_handler([](const RecordedRequest& request) {
    if (request.target == "/stall") return stalled();
    ScriptedResponse quick;
    quick.add("quick");
    return quick;
  });
  Engine engine(test_options());
  // Opened together: while the first connection is being made, curl cannot know yet whether it
  // will multiplex (HTTP/2) or not.
  auto slow = engine.open(get(server, "/stall"), std::nullopt);
  std::vector<std::shared_ptr<Stream>> quick;
  for (int i = 0; i < 3; ++i) quick.push_back(engine.open(get(server, "/quick"), std::nullopt));
  for (auto& stream : quick) {
    const Outcome outcome = read_all(*stream, 5s);
    EXPECT_TRUE(outcome.ended) << "a request waited for another stream's connection ("
                               << server.requests().size() << " requests on "
                               << server.connections() << " connections)";
    EXPECT_EQ(outcome.output, outcome.ended ? "quick" : "");
  }
  EXPECT_TRUE(slow->wait(kPatience));
  slow->cancel();
  // Once the host is known to speak HTTP/1.1, new requests get connections of their own.
  auto later = engine.open(get(server, "/quick"), std::nullopt);
  EXPECT_TRUE(read_all(*later, 5s).ended);
}

bool readable(int fd, std::chrono::milliseconds timeout) {
  pollfd waiting{fd, POLLIN, 0};
  return poll(&waiting, 1, static_cast<int>(timeout.count())) == 1 &&
         (waiting.revents & POLLIN) != 0;
}

TEST(Engine, TakeReadyReturnsTheReadyStreamsAndTheFdSaysSo) {
  LoopbackServer server;
  server.set_handler([](const RecordedRequest& request) {
    ScriptedResponse response;
    response.add("body of " + request.target);
    return response;
  });
  Engine engine(test_options());
  EXPECT_FALSE(readable(engine.ready_fd(), 0ms));
  EXPECT_TRUE(engine.take_ready().empty());

  std::vector<std::shared_ptr<Stream>> streams;
  for (int i = 0; i < 3; ++i)
    streams.push_back(engine.open(get(server, "/" + std::to_string(i)), std::nullopt));
  ASSERT_TRUE(readable(engine.ready_fd(), kPatience));
  // Let every stream end without taking anything: each is on the ready list once.
  for (auto& stream : streams)
    ASSERT_TRUE(eventually([&] { return stream->wait(0ms); }, kPatience));
  ASSERT_TRUE(eventually([&] { return engine.stats().active == 0; }, kPatience));
  std::vector<uint64_t> ready = engine.take_ready();
  std::vector<uint64_t> expected_ids;
  for (auto& stream : streams) expected_ids.push_back(stream->id());
  std::sort(ready.begin(), ready.end());
  EXPECT_EQ(ready, expected_ids);
  EXPECT_FALSE(readable(engine.ready_fd(), 0ms)) << "the ready fd stays readable once drained";
  EXPECT_TRUE(engine.take_ready().empty());
  for (size_t i = 0; i < streams.size(); ++i) {
    std::string output;
    EXPECT_TRUE(streams[i]->take(output));
    EXPECT_EQ(output, "body of /" + std::to_string(i));
  }
  EXPECT_FALSE(readable(engine.ready_fd(), 0ms));

  // A stream that becomes ready again after its reader took is listed again.
  ScriptedResponse slow;
  slow.framing = Framing::Chunked;
  slow.add("one").add("two", 200ms);
  server.enqueue(slow);
  auto stream = engine.open(get(server, "/slow"), std::nullopt);
  std::string output;
  bool over = false;
  size_t listed = 0;
  const Clock::time_point deadline = Clock::now() + kPatience;
  while (!over && Clock::now() < deadline) {
    if (!readable(engine.ready_fd(), 100ms)) continue;
    for (const uint64_t id : engine.take_ready()) {
      EXPECT_EQ(id, stream->id());
      ++listed;
    }
    over = stream->take(output);
  }
  ASSERT_TRUE(over);
  EXPECT_EQ(output, "onetwo");
  EXPECT_GE(listed, 2u);
}

}  // namespace
}  // namespace zaiproxy
