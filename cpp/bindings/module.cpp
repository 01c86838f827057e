// zaiproxy._core: the C++ core for Python. Bytes in, bytes out; one registration function per
// area. Nothing here holds the GIL released: every call is short, CPU-bound work on one response.
#include <pybind11/pybind11.h>

#include "bindings.hpp"
#include "zaiproxy/version.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "zaiproxy C++ core: signing, SSE framing, z.ai decoding, think layer, encoders";
  m.attr("__version__") = zaiproxy::version();
  zaiproxy::bindings::register_signing(m);
  zaiproxy::bindings::register_stages(m);
  zaiproxy::bindings::register_pipeline(m);
  zaiproxy::bindings::register_tools(m);
  zaiproxy::bindings::register_http(m);
  zaiproxy::bindings::register_engine(m);
  zaiproxy::bindings::register_request_builder(m);
}
