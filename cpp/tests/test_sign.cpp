// X-Signature test vectors V1–V8 and the two independent confirmations of
// upstream-protocol.md §3.5, byte for byte.
#include <gtest/gtest.h>

#include "zaiproxy/sign.hpp"

namespace zaiproxy {
namespace {

struct Vector {
  const char* name;
  const char* request_id;
  int64_t timestamp;
  const char* user_id;
  const char* prompt;
  const char* base64;
  const char* derived_key;  // K1 (v3)
  const char* signature;    // X-Signature v3
};

const Vector kVectors[] = {
    {"V1", "eef12d6c-6dc9-47a0-aae8-b9f3454f98c5", 1761038714733,
     "21ea9ec3-e492-4dbb-b522-fc0eaf64f0f6", "hi",
     "aGk=", "ff9d452f4a51fa3ac447e49502dcada0538c4aaa1b8301d0118bc73fcafcc655",
     "e1939c1a60c96c6ef2441cbbf09e72bc0d4895db7722410950be7822eb8ee71c"},
    {"V2", "3f1c7e9a-0b2d-4c6e-8a1f-5d9e2b7c4a10", 1761038714733,
     "7a9e4f52-1c3b-4d8e-9f60-2b1a3c4d5e6f",
     "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe8\xaf\xb7\xe7\x94\xa8\xe4\xb8\x80\xe5\x8f\xa5\xe8"
     "\xaf\x9d\xe4\xbb\x8b\xe7\xbb\x8d\xe4\xbd\xa0\xe8\x87\xaa\xe5\xb7\xb1\xe3\x80\x82",
     "5L2g5aW977yM6K+355So5LiA5Y+l6K+d5LuL57uN5L2g6Ieq5bex44CC",
     "ff9d452f4a51fa3ac447e49502dcada0538c4aaa1b8301d0118bc73fcafcc655",
     "be628382c15cb599d9ae46eb95d3a053b80525f7c41526494e1c4083487df2bb"},
    {"V3", "00000000-0000-4000-8000-000000000000", 1700000000000, "guest", "", "",
     "e37c98fb931005cbfac88fc6d9f09a459c0645f25d89a6c059f56417af6f260b",
     "52e36b8ef84fd84105c6055a721fd4c427c2378b74153df18d4d692d41981805"},
    {"V4", "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e", 1773300000000,
     "d0d30815-b85a-4270-af63-b5346a9f3b13", "line1\nline2 \"quoted\" \xf0\x9f\x98\x80",
     "bGluZTEKbGluZTIgInF1b3RlZCIg8J+YgA==",
     "f9b26be536780eb4221835eda39a5ac26ece161d585c24b10b3d34dceeb4c3cc",
     "d3f8e33ce7fb57822144c9d8d814c4890a95ca99bd971f8376af7f51f0bd07f1"},
    {"V5", "11111111-2222-4333-8444-555555555555", 1773299999999, "user-abc", "ping",
     "cGluZw==", "b530b5b234cdbc9cfe04037bde7e26a8caae56636df3c5b1d770ff5c8204bd78",
     "ddeae0f364ac5f0edbf0980ac01fa9a3b1ba0b10d5ae7e04676c7217a9666035"},
    {"V6", "11111111-2222-4333-8444-555555555555", 1773300000000, "user-abc", "ping",
     "cGluZw==", "f9b26be536780eb4221835eda39a5ac26ece161d585c24b10b3d34dceeb4c3cc",
     "c62204902843cbd39983b8dd8d1cad532f29dfef4a358872632086d576d272a2"},
    {"V7", "d9fb3ca8-676f-46c3-90c7-ddc70a74e46d", 1771762969397,
     "d0d30815-b85a-4270-af63-b5346a9f3b13", "Reply with exactly: ok",
     "UmVwbHkgd2l0aCBleGFjdGx5OiBvaw==",
     "b2fb416ee0ae56d2704aa98146f94dc4787412038a4aa7dfa365aeaaf13301c0",
     "26be53ded6069ead38e6d4d596e54b020aaa2e17f75a4fa29325ead00484b214"},
    {"V8", "9b2f1d3e-4c5a-46b7-8d9e-0f1a2b3c4d5e", 1773300000000,
     "316bcb48-ff2f-4a15-853d-f2a29b67ff0f", "\xe4\xbd\xa0\xe5\xa5\xbd", "5L2g5aW9",
     "f9b26be536780eb4221835eda39a5ac26ece161d585c24b10b3d34dceeb4c3cc",
     "4ee0ce03ec0e8ee91c2a4a36d58ab23b1109cd2d0e28c722d1049159f7e2c694"},
};

class SignVectors : public ::testing::TestWithParam<Vector> {};

TEST_P(SignVectors, Base64OfPrompt) {
  EXPECT_EQ(base64_encode(GetParam().prompt), GetParam().base64);
}

TEST_P(SignVectors, DerivedKeyOfWindow) {
  const Vector& v = GetParam();
  EXPECT_EQ(hmac_sha256_hex(kDefaultSigningKey, std::to_string(v.timestamp / 300000)),
            v.derived_key);
}

TEST_P(SignVectors, Signature) {
  const Vector& v = GetParam();
  EXPECT_EQ(sign(v.request_id, v.timestamp, v.user_id, v.prompt), v.signature);
}

INSTANTIATE_TEST_SUITE_P(Spec, SignVectors, ::testing::ValuesIn(kVectors),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Sign, ThirdPartyReferenceValue) {
  EXPECT_EQ(sign("req123", 1700000000000, "user456", "hello"),
            "f5272eee580c691659817cd55f6e9da5c45dadf9af3e29db915f600f5b283f81");
}

TEST(Sign, RootKeyIsAParameter) {
  // V1 with the older root key `junjie` (v2 row of the spec).
  EXPECT_EQ(sign("eef12d6c-6dc9-47a0-aae8-b9f3454f98c5", 1761038714733,
                 "21ea9ec3-e492-4dbb-b522-fc0eaf64f0f6", "hi", "junjie"),
            "de7a724f854c340e4c45e8761f735e450ba499d4f2ef6b81c98ad1f46bc478b6");
}

TEST(Base64, PaddingLengths) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode(std::string("\xff\xfe\x00", 3)), "//4A");
}

}  // namespace
}  // namespace zaiproxy

// RFC 4231 §4.2, §4.3 and §4.7: a short key, a short message, and a key longer than the block
// (hashed first), which the signing keys of the spec's vectors never exercise.
TEST(HmacSha256, Rfc4231Vectors) {
  using zaiproxy::hmac_sha256_hex;
  EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hmac_sha256_hex(std::string(131, '\xaa'),
                            "This is a test using a larger than block-size key and a larger than "
                            "block-size data. The key needs to be hashed before being used by the "
                            "HMAC algorithm."),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
