#include "zaiproxy/version.hpp"

namespace zaiproxy {

const char* version() { return ZAIPROXY_VERSION; }

}  // namespace zaiproxy
