#pragma once

namespace zaiproxy {

// Set by the build from the project version.
const char* version();

}  // namespace zaiproxy
