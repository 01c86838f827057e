// The request builder against upstream-protocol.md: the signed §2.3.1 request byte for byte, the
// persisted flow of §2.4 after the chats/new of §1.4, the §3.3 rule for the signed text, images
// (§1.5, §2.6), parameters and switches, and the simple requests.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "support.hpp"
#include "zaiproxy/request_builder.hpp"
#include "zaiproxy/simple_requests.hpp"

namespace zaiproxy {
namespace {

using Json = nlohmann::ordered_json;

const Profile& packaged() {
  static const Profile profile = Profile::from_json(testing::read_packaged_profile());
  return profile;
}

constexpr char kGuestJwt[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYyYTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc1NTg0ODU4OD"
    "c4OEBndWVzdC5jb20ifQ.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz";

// The inputs of §3.5 V8 / §2.3.1.
RequestContext v8_context() {
  RequestContext context;
  context.request_id = "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e";
  context.chat_id = "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8";
  context.user_message_id = "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6";
  context.session_id = "6e2f3a4b-5c6d-4e7f-8091-92a3b4c5d6e7";
  context.assistant_message_id = "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e";
  context.timestamp_ms = 1773300000000;
  context.fe_version = "prod-fe-1.0.185";
  context.local_time = {"2026-03-12 15:20:00", "2026-03-12", "15:20:00", "Thursday"};
  return context;
}

Identity guest() { return Identity::from_token(kGuestJwt, true); }

ChatPlan openai_plan(const std::string& request) {
  return plan_chat(packaged(), Json::parse(request), Dialect::OpenAi);
}

ChatPlan anthropic_plan(const std::string& request) {
  return plan_chat(packaged(), Json::parse(request), Dialect::Anthropic);
}

const char kHello[] = R"({"model":"GLM-4.5","messages":[{"role":"user","content":"你好"}]})";

// §2.3, copied from the spec.
constexpr char kFreshBody[] = R"({
  "stream": true, "model": "0727-360B-API",
  "messages": [{"role": "user", "content": "你好"}],
  "signature_prompt": "你好", "files": [], "params": {}, "extra": {},
  "features": {
    "image_generation": false, "web_search": false, "auto_web_search": false,
    "preview_mode": true, "flags": [],
    "features": [
      {"type": "mcp", "server": "vibe-coding", "status": "hidden"},
      {"type": "mcp", "server": "ppt-maker", "status": "hidden"},
      {"type": "mcp", "server": "image-search", "status": "hidden"},
      {"type": "mcp", "server": "deep-research", "status": "hidden"},
      {"type": "tool_selector", "server": "tool_selector", "status": "hidden"},
      {"type": "mcp", "server": "advanced-search", "status": "hidden"}
    ],
    "enable_thinking": false
  },
  "background_tasks": {"title_generation": false, "tags_generation": false},
  "mcp_servers": [],
  "variables": {
    "{{USER_NAME}}": "Guest", "{{USER_LOCATION}}": "Unknown",
    "{{CURRENT_DATETIME}}": "2026-03-12 15:20:00", "{{CURRENT_DATE}}": "2026-03-12",
    "{{CURRENT_TIME}}": "15:20:00", "{{CURRENT_WEEKDAY}}": "Thursday",
    "{{CURRENT_TIMEZONE}}": "Asia/Shanghai", "{{USER_LANGUAGE}}": "zh-CN"
  },
  "model_item": {"id": "0727-360B-API", "name": "GLM-4.5", "owned_by": "api-proxy-server"},
  "chat_id": "c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8",
  "id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  "session_id": "6e2f3a4b-5c6d-4e7f-8091-92a3b4c5d6e7",
  "current_user_message_id": "5d1e2f3a-4b5c-4d6e-8f70-8192a3b4c5d6",
  "current_user_message_parent_id": null,
  "tools": null
})";

TEST(CompletionRequest, ReproducesTheSignedExampleOfTheSpec) {
  const HttpRequest request = openai_plan(kHello).completion_request(guest(), v8_context());
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(
      request.url,
      "https://chat.z.ai/api/v2/chat/"
      "completions?requestId=9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e&timestamp=1773300000000&user_id="
      "316bcb48-ff2f-4a15-853d-f2a29b67ff0f&token="
      "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYyYTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc1NTg0ODU4"
      "O"
      "Dc4OEBndWVzdC5jb20ifQ.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz&version=0.0.1&platform=web&current_"
      "url=https%3A%2F%2Fchat.z.ai%2Fc%2Fc1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8&pathname=%2Fc%"
      "2Fc1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8&signature_timestamp=1773300000000");
  const std::pair<const char*, const char*> expected_headers[] = {
      {"Content-Type", "application/json"},
      {"Accept", "application/json"},
      {"Origin", "https://chat.z.ai"},
      {"Referer", "https://chat.z.ai/c/c1a2b3c4-d5e6-4f70-8192-a3b4c5d6e7f8"},
      {"X-FE-Version", "prod-fe-1.0.185"},
      {"Authorization",
       "Bearer "
       "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
       "eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYyYTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc1NTg0ODU"
       "4"
       "ODc4OEBndWVzdC5jb20ifQ.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz"},
      {"X-Signature", "4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694"},
  };
  for (const auto& [name, value] : expected_headers) {
    ASSERT_NE(request.header(name), nullptr) << name;
    EXPECT_EQ(*request.header(name), value) << name;
  }
  EXPECT_EQ(Json::parse(request.body), Json::parse(kFreshBody));
}

TEST(CompletionRequest, SendsTheBrowserHeadersOfTheProfile) {
  const HttpRequest request = openai_plan(kHello).completion_request(guest(), v8_context());
  EXPECT_NE(request.header("User-Agent")->find("Chrome/"), std::string::npos);
  EXPECT_EQ(*request.header("Accept-Language"), "zh-CN,zh;q=0.9,en;q=0.8");
  EXPECT_EQ(*request.header("sec-ch-ua-platform"), "\"Windows\"");
}

TEST(CompletionRequest, PassesTheClientsParameters) {
  const ChatPlan plan = openai_plan(
      R"({"model":"GLM-4.5","temperature":0.5,"top_p":0.9,"max_completion_tokens":100,
          "messages":[{"role":"user","content":"hi"}]})");
  const Json body = Json::parse(plan.completion_request(guest(), v8_context()).body);
  EXPECT_EQ(body["params"], Json::parse(R"({"temperature":0.5,"top_p":0.9,"max_tokens":100})"));
}

TEST(CompletionRequest, PassesStopSequencesAsAList) {
  const auto params = [](const ChatPlan& plan) {
    return Json::parse(plan.completion_request(guest(), v8_context()).body)["params"];
  };
  EXPECT_EQ(params(openai_plan(R"({"stop":"END","messages":[]})")),
            Json::parse(R"({"stop":["END"]})"));
  EXPECT_EQ(params(openai_plan(R"({"stop":["a","b"],"messages":[]})")),
            Json::parse(R"({"stop":["a","b"]})"));
  EXPECT_EQ(params(anthropic_plan(R"({"max_tokens":9,"stop_sequences":["x"],"messages":[]})")),
            Json::parse(R"({"max_tokens":9,"stop":["x"]})"));
  EXPECT_THROW(openai_plan(R"({"stop":[1],"messages":[]})"), RequestError);
}

TEST(CompletionRequest, UsesTheUserNameOfTheIdentity) {
  const Identity user = Identity::from_token(kGuestJwt, false, "Alice");
  const Json body = Json::parse(openai_plan(kHello).completion_request(user, v8_context()).body);
  EXPECT_EQ(body["variables"]["{{USER_NAME}}"], "Alice");
}

// ── the persisted flow: chats/new (§1.4) then §2.4 ──

// §1.4, copied from the spec.
constexpr char kChatCreationBody[] = R"({
  "chat": {
    "id": "", "title": "新聊天", "models": ["glm-4.7"], "params": {},
    "history": {
      "messages": {
        "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d": {
          "id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "parentId": null, "childrenIds": [],
          "role": "user", "content": "你好", "timestamp": 1773300000, "models": ["glm-4.7"]
        }
      },
      "currentId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"
    },
    "tags": [], "flags": [],
    "features": [{"type": "tool_selector", "server": "tool_selector_h", "status": "hidden"}],
    "mcp_servers": [], "enable_thinking": true, "auto_web_search": false,
    "message_version": 1, "extra": {}, "timestamp": 1773300000000
  }
})";

// §2.4, copied from the spec.
constexpr char kPersistedBody[] = R"({
  "stream": true, "model": "glm-4.7",
  "messages": [{"role": "user", "content": "你好"}],
  "signature_prompt": "你好", "params": {}, "extra": {},
  "features": {
    "image_generation": false, "web_search": false, "auto_web_search": false,
    "preview_mode": true, "flags": [], "enable_thinking": true
  },
  "variables": {
    "{{USER_NAME}}": "Guest", "{{USER_LOCATION}}": "Unknown",
    "{{CURRENT_DATETIME}}": "2026-03-12 15:20:00", "{{CURRENT_DATE}}": "2026-03-12",
    "{{CURRENT_TIME}}": "15:20:00", "{{CURRENT_WEEKDAY}}": "Thursday",
    "{{CURRENT_TIMEZONE}}": "Asia/Shanghai", "{{USER_LANGUAGE}}": "zh-CN"
  },
  "chat_id": "8f9e0d1c-2b3a-4c5d-9e6f-708192a3b4c5",
  "id": "b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
  "current_user_message_id": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
  "current_user_message_parent_id": null,
  "background_tasks": {"title_generation": true, "tags_generation": true}
})";

RequestContext persisted_context() {
  RequestContext context = v8_context();
  context.user_message_id = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
  return context;
}

const char kThinking47[] =
    R"({"model":"GLM-4.7-Thinking","messages":[{"role":"user","content":"你好"}]})";

TEST(ChatCreation, WritesTheChatsNewBodyOfTheSpec) {
  const ChatPlan plan = openai_plan(kThinking47);
  ASSERT_TRUE(plan.model().needs_chat_creation);
  const HttpRequest request = plan.chat_creation_request(guest(), persisted_context());
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://chat.z.ai/api/v1/chats/new");
  EXPECT_EQ(*request.header("Content-Type"), "application/json");
  EXPECT_EQ(*request.header("Authorization"), std::string("Bearer ") + kGuestJwt);
  EXPECT_EQ(Json::parse(request.body), Json::parse(kChatCreationBody));
}

TEST(ChatCreation, TruncatesLongMessagesTo500Characters) {
  const std::string text(600, 'x');
  const ChatPlan plan =
      openai_plan(R"({"model":"GLM-4.7","messages":[{"role":"user","content":")" + text + "\"}]}");
  const Json body = Json::parse(plan.chat_creation_request(guest(), persisted_context()).body);
  const Json& message = body["chat"]["history"]["messages"]["a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"];
  EXPECT_EQ(message["content"], std::string(500, 'x') + "...");
}

TEST(ChatCreation, VisionModelSelectsItsServers) {
  const ChatPlan plan =
      openai_plan(R"({"model":"GLM-4.6V","messages":[{"role":"user","content":"hi"}]})");
  const Json chat =
      Json::parse(plan.chat_creation_request(guest(), persisted_context()).body)["chat"];
  EXPECT_EQ(chat["features"][0],
            Json::parse(R"({"type":"mcp","server":"vlm-image-search","status":"selected"})"));
  EXPECT_EQ(chat["mcp_servers"],
            Json::parse(R"(["vlm-image-search","vlm-image-recognition","vlm-image-processing"])"));
}

TEST(ChatCreation, ParsesTheNewChatId) {
  EXPECT_EQ(parse_chat_creation_response(R"({"id":"chat-123"})"), "chat-123");
  EXPECT_EQ(parse_chat_creation_response(R"({"chat":{"id":"chat-9"}})"), "chat-9");
  EXPECT_THROW(parse_chat_creation_response(R"({"detail":"no"})"), std::runtime_error);
}

TEST(CompletionRequest, PersistedFlowMatchesTheSpec) {
  CompletionExtras extras;
  extras.chat_id = "8f9e0d1c-2b3a-4c5d-9e6f-708192a3b4c5";
  const ChatPlan plan = openai_plan(kThinking47);
  const HttpRequest request = plan.completion_request(guest(), persisted_context(), extras);
  EXPECT_EQ(Json::parse(request.body), Json::parse(kPersistedBody));
  EXPECT_EQ(*request.header("Accept"), "*/*");
  EXPECT_EQ(*request.header("Referer"), "https://chat.z.ai/c/8f9e0d1c-2b3a-4c5d-9e6f-708192a3b4c5");
  EXPECT_NE(request.url.find("pathname=%2Fc%2F8f9e0d1c-2b3a-4c5d-9e6f-708192a3b4c5"),
            std::string::npos);
}

TEST(CompletionRequest, ModelsThatNeedChatsNewRefuseToSkipIt) {
  EXPECT_THROW(openai_plan(kThinking47).completion_request(guest(), v8_context()),
               std::invalid_argument);
}

// ── which text is signed (§3.3) ──

TEST(SignaturePrompt, StringContentAsIs) {
  EXPECT_EQ(openai_plan(R"({"messages":[{"role":"user","content":"  hi  "}]})").signature_prompt(),
            "  hi  ");
}

TEST(SignaturePrompt, ListTextPartsJoinedBySpaceAndStripped) {
  const ChatPlan plan = openai_plan(R"({"messages":[{"role":"user","content":[
      {"type":"text","text":" a"},{"type":"image_url","image_url":{"url":"https://x/y.png"}},
      {"type":"text","text":"b "}]}]})");
  EXPECT_EQ(plan.signature_prompt(), "a b");
}

TEST(SignaturePrompt, LastUserMessageWithText) {
  const ChatPlan plan = openai_plan(R"({"messages":[
      {"role":"user","content":"first"},{"role":"assistant","content":"answer"},
      {"role":"user","content":""},{"role":"system","content":"late system"}]})");
  EXPECT_EQ(plan.signature_prompt(), "first");
}

TEST(SignaturePrompt, ToolResultsAreNotConsidered) {
  const ChatPlan plan = openai_plan(R"({"messages":[
      {"role":"user","content":"weather?"},
      {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
        "function":{"name":"w","arguments":"{}"}}]},
      {"role":"tool","tool_call_id":"c1","content":"sunny"}],
      "tools":[{"type":"function","function":{"name":"w","parameters":{"type":"object"}}}]})");
  EXPECT_EQ(plan.signature_prompt(), "weather?");
}

TEST(SignaturePrompt, AnthropicBlocks) {
  const ChatPlan plan = anthropic_plan(R"({"max_tokens":10,"messages":[
      {"role":"user","content":[{"type":"text","text":"read it"},{"type":"text","text":"now"}]},
      {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"r","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":"data"}]}],
      "tools":[{"name":"r","input_schema":{"type":"object"}}]})");
  EXPECT_EQ(plan.signature_prompt(), "read it now");
}

TEST(SignaturePrompt, NoUserTextSignsTheEmptyString) {
  EXPECT_EQ(openai_plan(R"({"messages":[{"role":"system","content":"s"}]})").signature_prompt(),
            "");
}

// ── switches and refusals ──

TEST(ChatPlan, ThinkingSwitches) {
  EXPECT_TRUE(
      openai_plan(R"({"model":"GLM-4.5","enable_thinking":true,"messages":[]})").enable_thinking());
  EXPECT_FALSE(
      openai_plan(R"({"model":"GLM-5","enable_thinking":false,"messages":[]})").enable_thinking());
  EXPECT_TRUE(openai_plan(R"({"model":"GLM-4.5","reasoning_effort":"high","messages":[]})")
                  .enable_thinking());
  EXPECT_FALSE(openai_plan(R"({"model":"GLM-5","reasoning_effort":"none","messages":[]})")
                   .enable_thinking());
  EXPECT_TRUE(
      openai_plan(R"({"model":"GLM-4.5","reasoning":true,"messages":[]})").enable_thinking());
  EXPECT_TRUE(
      anthropic_plan(
          R"({"model":"GLM-4.5","max_tokens":9,"thinking":{"type":"enabled","budget_tokens":9},"messages":[]})")
          .enable_thinking());
  EXPECT_FALSE(
      anthropic_plan(
          R"({"model":"GLM-5","max_tokens":9,"thinking":{"type":"disabled"},"messages":[]})")
          .enable_thinking());
  EXPECT_TRUE(openai_plan(R"({"model":"GLM-5","messages":[]})").enable_thinking());
}

TEST(ChatPlan, WebSearchSwitch) {
  const ChatPlan plan = openai_plan(R"({"model":"GLM-4.5","web_search":true,"messages":[]})");
  const Json features =
      Json::parse(plan.completion_request(guest(), v8_context()).body)["features"];
  EXPECT_EQ(features["web_search"], true);
  EXPECT_EQ(features["auto_web_search"], true);
}

TEST(ChatPlan, EchoesTheClientsModelName) {
  EXPECT_EQ(openai_plan(R"({"model":"glm-4.5","messages":[]})").response_model(), "glm-4.5");
  EXPECT_EQ(openai_plan(R"({"messages":[]})").response_model(), "GLM-4.5");
  EXPECT_EQ(openai_plan(kHello).pipeline_options(OutputFormat::OpenAiJson).response.model,
            "GLM-4.5");
}

std::string refused_param(const std::string& request) {
  try {
    openai_plan(request);
  } catch (const RequestError& e) {
    return e.param();
  }
  return "no error";
}

TEST(ChatPlan, RefusesWhatTheClientMustFix) {
  EXPECT_EQ(refused_param(R"({"model":5,"messages":[]})"), "model");
  EXPECT_EQ(refused_param(R"({"temperature":"hot","messages":[]})"), "temperature");
  EXPECT_EQ(refused_param(R"({"max_tokens":0,"messages":[]})"), "max_tokens");
  EXPECT_EQ(refused_param(R"({"enable_thinking":"yes","messages":[]})"), "enable_thinking");
  EXPECT_EQ(refused_param(R"({"messages":[{"role":"robot","content":"x"}]})"), "messages[0].role");
  EXPECT_THROW(plan_chat(packaged(), Json::array(), Dialect::OpenAi), RequestError);
}

// ── images (§1.5, §2.6) ──

// "PNG" base64-encoded.
const char kDataImage[] = R"({"model":"GLM-4.6V","messages":[{"role":"user","content":[
    {"type":"text","text":"what is this"},
    {"type":"image_url","image_url":{"url":"data:image/png;base64,UE5H"}}]}]})";

TEST(Images, HttpUrlsPassThroughUnchanged) {
  const ChatPlan plan = openai_plan(R"({"messages":[{"role":"user","content":[
      {"type":"text","text":"look"},
      {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]})");
  EXPECT_TRUE(plan.uploads().empty());
  const Json body = Json::parse(plan.completion_request(guest(), v8_context()).body);
  EXPECT_EQ(body["messages"][0]["content"], Json::parse(R"([{"type":"text","text":"look"},
      {"type":"image_url","image_url":{"url":"https://example.com/a.png"}}])"));
  EXPECT_EQ(body["files"], Json::array());
}

TEST(Images, DataUrlsBecomeUploads) {
  const ChatPlan plan = openai_plan(kDataImage);
  ASSERT_EQ(plan.uploads().size(), 1u);
  EXPECT_EQ(plan.uploads()[0].media_type, "image/png");
  EXPECT_EQ(plan.uploads()[0].data, "PNG");
}

TEST(Images, GuestsCannotUpload) {
  const ChatPlan plan = openai_plan(kDataImage);
  CompletionExtras extras;
  extras.chat_id = "chat-1";
  try {
    plan.completion_request(guest(), v8_context(), extras);
    FAIL() << "no error";
  } catch (const RequestError& e) {
    EXPECT_NE(std::string(e.what()).find("logged-in user token"), std::string::npos);
    EXPECT_EQ(e.status(), 400);
  }
  EXPECT_THROW(file_upload_request(packaged(), guest(), v8_context(), plan.uploads()[0], "b", "f"),
               RequestError);
}

TEST(Images, UploadIsOneMultipartField) {
  const Identity user = Identity::from_token(kGuestJwt, false);
  const ChatPlan plan = openai_plan(kDataImage);
  const HttpRequest request =
      file_upload_request(packaged(), user, v8_context(), plan.uploads()[0], "BOUNDARY", "f1");
  EXPECT_EQ(request.method, "POST");
  EXPECT_EQ(request.url, "https://chat.z.ai/api/v1/files/");
  EXPECT_EQ(*request.header("Content-Type"), "multipart/form-data; boundary=BOUNDARY");
  EXPECT_EQ(request.body,
            "--BOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f1\"\r\n"
            "Content-Type: image/png\r\n\r\nPNG\r\n--BOUNDARY--\r\n");
}

TEST(Images, UploadedFilesAreReferencedById) {
  const Identity user = Identity::from_token(kGuestJwt, false);
  const ChatPlan plan = openai_plan(kDataImage);
  CompletionExtras extras;
  extras.chat_id = "chat-1";
  extras.files.push_back(parse_upload_response(
      R"({"id":"file-1","filename":"f1","user_id":"u1",
          "meta":{"name":"f1","content_type":"image/png","size":3,"cdn_url":"https://cdn/x"}})",
      "item-1"));
  const Json body = Json::parse(plan.completion_request(user, persisted_context(), extras).body);
  EXPECT_EQ(body["messages"][0]["content"][1]["image_url"]["url"], "file-1");
  // §1.5's files entry, ref_user_msg_id in the persisted flow.
  EXPECT_EQ(body["files"][0], Json::parse(R"({"type":"image","file":{"id":"file-1","user_id":"u1",
      "hash":null,"filename":"f1","data":{},"meta":{"name":"f1","content_type":"image/png",
      "size":3,"data":{}},"created_at":1773300000,"updated_at":1773300000},
      "id":"file-1","url":"/api/v1/files/file-1/content","name":"f1","status":"uploaded",
      "size":3,"error":"","itemId":"item-1","media":"image",
      "ref_user_msg_id":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"})"));
}

TEST(Images, RefusesDataUrlsThatAreNotBase64) {
  EXPECT_THROW(openai_plan(R"({"messages":[{"role":"user","content":[
      {"type":"image_url","image_url":{"url":"data:image/png,raw"}}]}]})"),
               RequestError);
}

// ── simple requests ──

TEST(SimpleRequests, AuthWithAndWithoutToken) {
  const HttpRequest anonymous = auth_request(packaged(), std::nullopt);
  EXPECT_EQ(anonymous.url, "https://chat.z.ai/api/v1/auths/");
  EXPECT_EQ(anonymous.header("Authorization"), nullptr);
  const HttpRequest with_token = auth_request(packaged(), std::string("tok"), "prod-fe-1.0.185");
  EXPECT_EQ(*with_token.header("Authorization"), "Bearer tok");
  EXPECT_EQ(*with_token.header("X-FE-Version"), "prod-fe-1.0.185");
}

TEST(SimpleRequests, LandingModelsAndDelete) {
  EXPECT_EQ(landing_page_request(packaged()).url, "https://chat.z.ai/");
  EXPECT_EQ(models_request(packaged(), "tok").url, "https://chat.z.ai/api/models");
  const HttpRequest deletion = delete_chats_request(packaged(), "tok");
  EXPECT_EQ(deletion.method, "DELETE");
  EXPECT_EQ(deletion.url, "https://chat.z.ai/api/v1/chats/");
}

TEST(SimpleRequests, ParsesTheAuthAnswer) {
  // §1.2's minimal guest answer.
  const Identity identity = parse_auth_response(
      std::string(
          R"({"id":"316bcb48-ff2f-4a15-853d-f2a29b67ff0f","email":"Guest-1755848588788@guest.com","name":"Guest-1755848588788","role":"guest","token":")") +
      kGuestJwt + "\"}");
  EXPECT_EQ(identity.user_id, "316bcb48-ff2f-4a15-853d-f2a29b67ff0f");
  EXPECT_EQ(identity.name, "Guest-1755848588788");
  EXPECT_TRUE(identity.guest);
  EXPECT_FALSE(parse_auth_response(R"({"token":"t","email":"a@b.c"})").guest);
  EXPECT_TRUE(parse_auth_response(R"({"token":"t","email":"Guest-1@guest.com"})").guest);
  EXPECT_THROW(parse_auth_response(R"({"detail":"x"})"), std::runtime_error);
}

}  // namespace
}  // namespace zaiproxy
