// The protocol profile against upstream-protocol.md: the packaged profile.json, validation
// errors that name their JSON path, the §5.1 model table, front-end version discovery (§1.1), the
// JWT user id (§6) and the local time of `variables` (§2.3).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support.hpp"
#include "zaiproxy/fe_version.hpp"
#include "zaiproxy/identity.hpp"
#include "zaiproxy/profile.hpp"
#include "zaiproxy/request_context.hpp"

namespace zaiproxy {
namespace {

using Json = nlohmann::ordered_json;
using Strings = std::vector<std::string>;

const Profile& packaged() {
  static const Profile profile = Profile::from_json(testing::read_packaged_profile());
  return profile;
}

TEST(Profile, PackagedProfileHoldsTheCurrentProtocol) {
  const ProfileData& p = *packaged();
  EXPECT_EQ(p.origin, "https://chat.z.ai");
  EXPECT_EQ(p.endpoints.completions, "/api/v2/chat/completions");
  EXPECT_EQ(p.endpoints.auths, "/api/v1/auths/");
  EXPECT_EQ(p.endpoints.chats_new, "/api/v1/chats/new");
  EXPECT_EQ(p.endpoints.files, "/api/v1/files/");
  EXPECT_EQ(p.fe_version_fallback, "prod-fe-1.1.98");
  EXPECT_EQ(p.signing_key, "key-@@@@)))()((9))-xxxx&&&%%%%%");
  EXPECT_EQ(p.variables.timezone, "Asia/Shanghai");
  EXPECT_EQ(p.model_item_owned_by, "api-proxy-server");
}

// ── model catalogue: every alias of §5.1 ──

struct Row {
  const char* alias;
  const char* upstream;
  bool thinking, search, preview;
  Strings mcp;
  bool chat_creation;
};

TEST(ModelCatalogue, ResolvesEveryAliasOfTheZzHeadTable) {
  const Strings vlm = {"vlm-image-search", "vlm-image-recognition", "vlm-image-processing"};
  const std::vector<Row> table = {
      {"GLM-4.5", "0727-360B-API", false, false, true, {}, false},
      {"GLM-4.5-Thinking", "0727-360B-API", true, false, true, {}, false},
      {"GLM-4.5-Search", "0727-360B-API", false, true, true, {}, false},
      {"GLM-4.5-Air", "0727-106B-API", false, false, true, {}, false},
      {"GLM-4.6V", "glm-4.6v", true, false, false, vlm, true},
      {"GLM-5", "glm-5", true, false, true, {}, false},
      {"GLM-4.7", "glm-4.7", false, false, true, {}, true},
      {"GLM-4.7-Thinking", "glm-4.7", true, false, true, {}, true},
      {"GLM-4.7-Search", "glm-4.7", false, true, true, {}, true},
      {"GLM-4.7-advanced-search", "glm-4.7", false, true, true, {"advanced-search"}, true},
  };
  for (const Row& row : table) {
    SCOPED_TRACE(row.alias);
    const ResolvedModel model = packaged()->catalogue.resolve(row.alias);
    EXPECT_TRUE(model.known);
    EXPECT_EQ(model.alias, row.alias);
    EXPECT_EQ(model.upstream_id, row.upstream);
    EXPECT_EQ(model.enable_thinking, row.thinking);
    EXPECT_EQ(model.web_search, row.search);
    EXPECT_EQ(model.preview_mode, row.preview);
    EXPECT_EQ(model.mcp_servers, row.mcp);
    EXPECT_EQ(model.needs_chat_creation, row.chat_creation);
  }
}

TEST(ModelCatalogue, GlmFiveAndNewerAreRefusedToGuests) {
  for (const char* alias : {"GLM-5", "GLM-5.1", "GLM-5-Turbo"}) {
    EXPECT_FALSE(packaged()->catalogue.resolve(alias).guest_allowed) << alias;
  }
  EXPECT_TRUE(packaged()->catalogue.resolve("GLM-4.7").guest_allowed);
}

TEST(ModelCatalogue, NamesAreCaseInsensitive) {
  const ResolvedModel model = packaged()->catalogue.resolve("glm-4.7-THINKING");
  EXPECT_EQ(model.alias, "GLM-4.7-Thinking");
  EXPECT_TRUE(model.enable_thinking);
}

TEST(ModelCatalogue, UnknownNamesGetTheDefaultModel) {
  const ResolvedModel model = packaged()->catalogue.resolve("gpt-4o");
  EXPECT_FALSE(model.known);
  EXPECT_EQ(model.upstream_id, "0727-360B-API");
}

TEST(ModelCatalogue, KnownUpstreamIdsPassThrough) {
  EXPECT_EQ(packaged()->catalogue.resolve("0727-106B-API").alias, "GLM-4.5-Air");
  const ResolvedModel model = packaged()->catalogue.resolve("glm-4.7-thinking");
  EXPECT_EQ(model.upstream_id, "glm-4.7");
  EXPECT_TRUE(model.enable_thinking);
}

TEST(ModelCatalogue, AnyVariantAppliesToAnyBase) {
  const ResolvedModel model = packaged()->catalogue.resolve("GLM-4.5-Air-Thinking");
  EXPECT_EQ(model.upstream_id, "0727-106B-API");
  EXPECT_TRUE(model.enable_thinking);
}

TEST(ModelCatalogue, AdvertisesEachBaseAndItsListedVariants) {
  Strings names;
  for (const ResolvedModel& model : packaged()->catalogue.advertised())
    names.push_back(model.alias);
  const Strings expected_prefix = {"GLM-4.5", "GLM-4.5-Thinking", "GLM-4.5-Search", "GLM-4.5-Air"};
  EXPECT_EQ(Strings(names.begin(), names.begin() + 4), expected_prefix);
  EXPECT_NE(std::find(names.begin(), names.end(), "GLM-4.7-advanced-search"), names.end());
}

TEST(ModelCatalogue, RenamesResolveAsTheirTargetAndAreAdvertised) {
  Json document = Json::parse(testing::read_packaged_profile());
  document["renames"] = {{"my-thinker", "GLM-4.7-Thinking"}};
  const Profile profile = Profile::from_json(document.dump());
  const ResolvedModel model = profile->catalogue.resolve("MY-THINKER");
  EXPECT_EQ(model.upstream_id, "glm-4.7");
  EXPECT_TRUE(model.enable_thinking);
  EXPECT_EQ(profile->catalogue.advertised().back().alias, "my-thinker");
}

// ── validation ──

std::string load_error(const std::function<void(Json&)>& edit) {
  Json document = Json::parse(testing::read_packaged_profile());
  edit(document);
  try {
    Profile::from_json(document.dump());
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(ProfileValidation, NamesThePathOfWhatIsWrong) {
  EXPECT_EQ(load_error([](Json& d) { d["models"][1].erase("upstream"); }),
            "profile: models[1].upstream: missing");
  EXPECT_EQ(load_error([](Json& d) { d["origin"] = 3; }),
            "profile: origin: expected a non-empty string");
  EXPECT_EQ(load_error([](Json& d) { d["completion_endpoint"] = "completions_v3"; }),
            "profile: completion_endpoint: names no entry of endpoints");
  EXPECT_EQ(load_error([](Json& d) { d["default_model"] = "GLM-9"; }),
            "profile: default_model: 'GLM-9' is not the alias of a model");
  EXPECT_EQ(load_error([](Json& d) { d["models"][0]["variants"] = {"-Turbo"}; }),
            "profile: models[0].variants: '-Turbo' is not in the top-level variants");
  EXPECT_EQ(load_error([](Json& d) { d["models"][2]["chat_creation"] = "yes"; }),
            "profile: models[2].chat_creation: expected true or false");
  EXPECT_EQ(load_error([](Json& d) { d["variables"]["utc_offset_minutes"] = 1.5; }),
            "profile: variables.utc_offset_minutes: expected an integer");
  EXPECT_EQ(load_error([](Json& d) { d.erase("endpoints"); }), "profile: endpoints: missing");
  EXPECT_EQ(load_error([](Json& d) {
              d["renames"] = {{"x", "GLM-9"}};
            }),
            "profile: renames: 'GLM-9' is not a model name of the catalogue");
}

TEST(ProfileValidation, ChecksQueryPlaceholders) {
  const std::string error = load_error([](Json& d) { d["completion_query"][3][1] = "{secret}"; });
  EXPECT_EQ(error.rfind("profile: completion_query[3][1]: unknown placeholder {secret}", 0), 0u)
      << error;
}

TEST(ProfileValidation, RefusesText) {
  EXPECT_THROW(Profile::from_json("{"), std::invalid_argument);
  EXPECT_THROW(Profile::from_json("[]"), std::invalid_argument);
}

// ── front-end version (§1.1) ──

TEST(FeVersion, TakesTheNumericallyGreatest) {
  const std::string html =
      R"(<script src="https://z-cdn.chatglm.cn/z-ai/frontend/prod-fe-1.0.99/assets/a.js"></script>
<link href="/prod-fe-1.0.185/_app/immutable/chunks/x.js"><a>prod-fe-1.0.2</a>)";
  EXPECT_EQ(discover_fe_version(html), "prod-fe-1.0.185");
}

TEST(FeVersion, NoneInThePage) {
  EXPECT_EQ(discover_fe_version("<html>prod-fe-x</html>"), std::nullopt);
  EXPECT_EQ(discover_fe_version(""), std::nullopt);
}

TEST(FeVersion, StopsAtTheLastNumber) {
  EXPECT_EQ(discover_fe_version("/prod-fe-1.1.98./x"), "prod-fe-1.1.98");
}

TEST(FeVersion, ComparesNumerically) {
  EXPECT_GT(compare_fe_versions("prod-fe-1.0.185", "prod-fe-1.0.99"), 0);
  EXPECT_GT(compare_fe_versions("prod-fe-1.1.0", "prod-fe-1.0.272"), 0);
  EXPECT_LT(compare_fe_versions("prod-fe-1.0", "prod-fe-1.0.1"), 0);
  EXPECT_EQ(compare_fe_versions("prod-fe-1.0.0", "prod-fe-1.0"), 0);
}

// ── identity (§6) ──

constexpr char kGuestJwt[] =
    "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJpZCI6IjMxNmJjYjQ4LWZmMmYtNGExNS04NTNkLWYyYTI5YjY3ZmYwZiIsImVtYWlsIjoiR3Vlc3QtMTc1NTg0ODU4OD"
    "c4OEBndWVzdC5jb20ifQ.ZmFrZS1zaWduYXR1cmUtZm9yLXRlc3Rz";

TEST(Identity, UserIdFromTheJwtPayload) {
  EXPECT_EQ(jwt_user_id(kGuestJwt), "316bcb48-ff2f-4a15-853d-f2a29b67ff0f");
  EXPECT_EQ(jwt_user_id("h.eyJzdWIiOiJhYmMifQ.s"), "abc");                    // {"sub":"abc"}
  EXPECT_EQ(jwt_user_id("h.eyJ1aWQiOjQyLCJlbWFpbCI6IngifQ.s"), "42");         // {"uid":42,…}
  EXPECT_EQ(jwt_user_id("h.eyJ1c2VyX2lkIjoidS0xIiwic3ViIjoicyJ9.s"), "u-1");  // user_id first
}

TEST(Identity, FallsBackToGuest) {
  EXPECT_EQ(jwt_user_id("not-a-jwt"), "guest");
  EXPECT_EQ(jwt_user_id("a.!!!.b"), "guest");
  EXPECT_EQ(jwt_user_id("a.e30.b"), "guest");  // {}
}

// ── request context ──

TEST(RequestContext, LocalTimeInTheProfilesZone) {
  const LocalTime t = LocalTime::at(1773300000000, 480);
  EXPECT_EQ(t.datetime, "2026-03-12 15:20:00");
  EXPECT_EQ(t.date, "2026-03-12");
  EXPECT_EQ(t.time, "15:20:00");
  EXPECT_EQ(t.weekday, "Thursday");
}

TEST(RequestContext, FreshHasNewIdsAndTheFallbackVersion) {
  const RequestContext a = RequestContext::fresh(packaged());
  const RequestContext b = RequestContext::fresh(packaged(), std::string("prod-fe-1.2.3"));
  EXPECT_EQ(a.fe_version, "prod-fe-1.1.98");
  EXPECT_EQ(b.fe_version, "prod-fe-1.2.3");
  EXPECT_NE(a.request_id, b.request_id);
  EXPECT_EQ(a.request_id.size(), 36u);
  EXPECT_EQ(a.request_id[14], '4');
  EXPECT_GT(a.timestamp_ms, 1773300000000);
}

TEST(RequestContext, IdsAreVersionFourUuids) {
  const std::regex uuid4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::set<std::string> seen;
  for (int i = 0; i < 200; ++i) {
    const std::string id = random_uuid4();
    EXPECT_TRUE(std::regex_match(id, uuid4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 200u);
}

}  // namespace
}  // namespace zaiproxy
