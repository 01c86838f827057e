#include "zaiproxy/http.hpp"

#include <pybind11/stl.h>

#include "bindings.hpp"

namespace zaiproxy::bindings {

void register_http(py::module_& m) {
  py::class_<HttpRequest>(m, "HttpRequest",
                          "One upstream HTTP request: method, URL, headers, body.")
      .def(py::init([](std::string method, std::string url,
                       std::vector<std::pair<std::string, std::string>> headers,
                       const py::object& body) {
             HttpRequest request;
             request.method = std::move(method);
             request.url = std::move(url);
             request.headers = std::move(headers);
             if (!body.is_none()) request.body = std::string(ByteView(body).view());
             return request;
           }),
           py::kw_only(), py::arg("method") = "GET", py::arg("url"),
           py::arg("headers") = std::vector<std::pair<std::string, std::string>>{},
           py::arg("body") = py::none())
      .def_readwrite("method", &HttpRequest::method)
      .def_readwrite("url", &HttpRequest::url)
      .def_readwrite("headers", &HttpRequest::headers)
      .def_property(
          "body", [](const HttpRequest& r) { return to_bytes(r.body); },
          [](HttpRequest& r, const py::object& body) {
            r.body = std::string(ByteView(body).view());
          })
      .def(
          "header",
          [](const HttpRequest& r, std::string_view name) -> py::object {
            const std::string* value = r.header(name);
            if (!value) return py::none();
            return py::str(*value);
          },
          py::arg("name"), "The first value of a header (case-insensitive), or None.")
      .def("__repr__",
           [](const HttpRequest& r) { return "<HttpRequest " + r.method + " " + r.url + ">"; });
}

}  // namespace zaiproxy::bindings
