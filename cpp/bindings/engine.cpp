#include "zaiproxy/engine.hpp"

#include <pybind11/chrono.h>
#include <pybind11/stl.h>

#include "bindings.hpp"
#include "transfer_failure.hpp"

namespace zaiproxy::bindings {

namespace {

std::chrono::milliseconds seconds_to_ms(double seconds) {
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000.0));
}

py::dict failure_to_py(const TransferFailure& failure) {
  py::dict d;
  d["kind"] = transfer_failure_kind_name(failure.kind);
  d["http_status"] = failure.http_status;
  d["code"] = failure.code;
  d["message"] = failure.message;
  d["body"] = to_bytes(failure.body);
  return d;
}

py::dict stats_to_py(const EngineStats& stats) {
  py::dict d;
  d["active"] = stats.active;
  d["opened"] = stats.opened;
  d["completed"] = stats.completed;
  d["failed"] = stats.failed;
  d["cancelled"] = stats.cancelled;
  d["paused"] = stats.paused;
  d["bytes_received"] = stats.bytes_received;
  d["bytes_delivered"] = stats.bytes_delivered;
  d["cpu_seconds"] = stats.cpu_seconds;
  return d;
}

}  // namespace

void register_engine(py::module_& m) {
  m.def(
      "http_failure",
      [](int status, const py::object& body) {
        return failure_to_py(transfer_failure::from_http(status, ByteView(body).view()));
      },
      py::arg("status"), py::arg("body"),
      "What the engine reports for a non-2xx response: kind, status, code, message with the "
      "profile setting to update, body.");
  py::class_<Stream, std::shared_ptr<Stream>>(
      m, "Stream", "One upstream request in flight; its output is taken in batches.")
      .def_property_readonly("id", &Stream::id)
      .def(
          "take",
          [](Stream& stream) {
            std::string out;
            const bool over = stream.take(out);
            return py::make_tuple(to_bytes(out), over);
          },
          "All output ready now, and whether the stream is over: (bytes, done).")
      .def(
          "wait",
          [](Stream& stream, double timeout) {
            py::gil_scoped_release release;
            return stream.wait(seconds_to_ms(timeout));
          },
          py::arg("timeout"),
          "Blocks (without the GIL) until take() has something; False on timeout.")
      .def("cancel", &Stream::cancel, "Stops the request and frees its resources. Idempotent.")
      .def_property_readonly("status", &Stream::status)
      .def_property_readonly("headers", &Stream::response_headers)
      .def_property_readonly("failure",
                             [](const Stream& stream) -> py::object {
                               auto failure = stream.failure();
                               if (!failure) return py::none();
                               return failure_to_py(*failure);
                             })
      .def_property_readonly("error",
                             [](const Stream& stream) -> py::object {
                               auto error = stream.error();
                               if (!error) return py::none();
                               return error_to_py(*error);
                             })
      .def_property_readonly("usage",
                             [](const Stream& stream) -> py::object {
                               const Usage usage = stream.usage();
                               if (usage.empty()) return py::none();
                               return usage_to_py(usage);
                             })
      .def_property_readonly("finish_reason", [](const Stream& stream) -> py::object {
        auto reason = stream.finish_reason();
        if (!reason) return py::none();
        return py::str(finish_reason_name(*reason));
      });

  py::class_<Engine>(m, "Engine",
                     "The upstream engine: one libcurl thread for all requests of the process.")
      .def(
          py::init([](size_t stream_buffer_bytes, double connect_timeout, double first_byte_timeout,
                      double idle_timeout, std::string proxy, std::string no_proxy, bool verify_tls,
                      std::string ca_file, long receive_buffer_bytes) {
            EngineOptions options;
            options.stream_buffer_bytes = stream_buffer_bytes;
            options.connect_timeout = seconds_to_ms(connect_timeout);
            options.first_byte_timeout = seconds_to_ms(first_byte_timeout);
            options.idle_timeout = seconds_to_ms(idle_timeout);
            options.proxy = std::move(proxy);
            options.no_proxy = std::move(no_proxy);
            options.verify_tls = verify_tls;
            options.ca_file = std::move(ca_file);
            options.receive_buffer_bytes = receive_buffer_bytes;
            return std::make_unique<Engine>(std::move(options));
          }),
          py::kw_only(), py::arg("stream_buffer_bytes") = EngineOptions{}.stream_buffer_bytes,
          py::arg("connect_timeout") = 10.0, py::arg("first_byte_timeout") = 90.0,
          py::arg("idle_timeout") = 120.0, py::arg("proxy") = "", py::arg("no_proxy") = "",
          py::arg("verify_tls") = true, py::arg("ca_file") = "",
          py::arg("receive_buffer_bytes") = EngineOptions{}.receive_buffer_bytes)
      .def(
          "open",
          [](Engine& engine, HttpRequest request, std::optional<PipelineOptions> pipeline) {
            return engine.open(std::move(request), std::move(pipeline));
          },
          py::arg("request"), py::arg("pipeline") = py::none(),
          "Starts a request. With a PipelineOptions the body becomes API output; without, the "
          "output is the raw body.")
      .def_property_readonly("ready_fd", &Engine::ready_fd)
      .def("take_ready", &Engine::take_ready,
           "Drains the ready fd; the ids of the streams with something new.")
      .def("stats", [](const Engine& engine) { return stats_to_py(engine.stats()); })
      .def(
          "stop",
          [](Engine& engine) {
            py::gil_scoped_release release;
            engine.stop();
          },
          "Cancels every stream and joins the engine thread. Idempotent.");
}

}  // namespace zaiproxy::bindings
