#include "bindings.hpp"
#include "zaiproxy/sign.hpp"

namespace zaiproxy::bindings {

void register_signing(py::module_& m) {
  m.attr("DEFAULT_SIGNING_KEY") = py::str(std::string(kDefaultSigningKey));
  m.def(
      "sign",
      [](std::string_view request_id, int64_t timestamp_ms, std::string_view user_id,
         std::string_view prompt,
         std::string_view key) { return sign(request_id, timestamp_ms, user_id, prompt, key); },
      py::arg("request_id"), py::arg("timestamp_ms"), py::arg("user_id"), py::arg("prompt"),
      py::arg("key") = std::string(kDefaultSigningKey),
      "X-Signature (64 lowercase hex) for a chat.z.ai completion request.");
}

}  // namespace zaiproxy::bindings
