#include "zaiproxy/pipeline.hpp"

#include "zaiproxy/openai_chunk_decoder.hpp"
#include "zaiproxy/tool_detector.hpp"
#include "zaiproxy/zai_decoder.hpp"

namespace zaiproxy {

namespace {

std::unique_ptr<EventDecoder> make_decoder(Upstream upstream) {
  if (upstream == Upstream::OpenAi) return std::make_unique<OpenAiChunkDecoder>();
  return std::make_unique<ZaiDecoder>();
}

ThinkOptions think_options_for(const PipelineOptions& options) {
  ThinkOptions think = options.think;
  think.source = options.upstream == Upstream::Zai ? ThinkSource::Zai : ThinkSource::Generic;
  return think;
}

}  // namespace

// The stages are chained through small sink adapters; each one forwards to the next stage and
// the last one writes into the caller's output buffer for the duration of a feed()/finish().
class Pipeline::Impl {
 public:
  explicit Impl(PipelineOptions options)
      : framer_(options.framing),
        decoder_(make_decoder(options.upstream)),
        think_(think_options_for(options)),
        tools_(std::move(options.tools)),
        encoder_(make_encoder(options.output, std::move(options.response))),
        to_decoder_(*this),
        to_think_(*this),
        to_tools_(*this),
        to_encoder_(*this) {}

  void feed(std::string_view bytes, std::string& out) {
    if (finished_) return;
    out_ = &out;
    framer_.feed(bytes, to_decoder_);
    out_ = nullptr;
  }

  void finish(std::string& out) {
    if (finished_) return;
    out_ = &out;
    framer_.finish(to_decoder_);
    decoder_->finish(to_think_);
    think_.finish(to_tools_);
    tools_.finish(to_encoder_);
    encoder_->finish(out);
    out_ = nullptr;
    finished_ = true;
  }

  void fail(const StreamError& error, std::string& out) {
    if (finished_) return;
    SourceEvent failure;
    failure.kind = SourceEvent::Kind::Error;
    failure.error = &error;
    out_ = &out;
    think_.feed(failure, to_tools_);
    out_ = nullptr;
    finish(out);
  }

  bool finished() const { return finished_; }
  const ResponseInfo& info() const { return encoder_->info(); }
  const std::optional<StreamError>& error() const { return error_; }
  const Usage& usage() const { return usage_; }
  std::optional<FinishReason> finish_reason() const { return finish_reason_; }

 private:
  struct ToDecoder final : SseSink {
    explicit ToDecoder(Impl& pipeline) : p(pipeline) {}
    void on_event(const SseEvent& event) override { p.decoder_->feed(event.data, p.to_think_); }
    void on_error(const StreamError& error) override {
      // The bytes can no longer be framed: the response fails like on an upstream error.
      SourceEvent failure;
      failure.kind = SourceEvent::Kind::Error;
      failure.error = &error;
      p.think_.feed(failure, p.to_tools_);
    }
    Impl& p;
  };

  struct ToThink final : SourceSink {
    explicit ToThink(Impl& pipeline) : p(pipeline) {}
    void on_event(const SourceEvent& event) override { p.think_.feed(event, p.to_tools_); }
    Impl& p;
  };

  struct ToTools final : ResponseSink {
    explicit ToTools(Impl& pipeline) : p(pipeline) {}
    void on_event(const ResponseEvent& event) override { p.tools_.feed(event, p.to_encoder_); }
    Impl& p;
  };

  struct ToEncoder final : ResponseSink {
    explicit ToEncoder(Impl& pipeline) : p(pipeline) {}
    void on_event(const ResponseEvent& event) override {
      if (event.kind != ResponseEvent::Kind::Text && event.kind != ResponseEvent::Kind::Reasoning)
        p.note_outcome(event);
      p.encoder_->feed(event, *p.out_);
    }
    Impl& p;
  };

  // Keeps what the caller can ask about the response (usage, error, finish reason). Out of line:
  // text events, nearly all of them, only pass by.
  __attribute__((noinline)) void note_outcome(const ResponseEvent& event) {
    switch (event.kind) {
      case ResponseEvent::Kind::Usage:
        usage_ = event.usage;
        break;
      case ResponseEvent::Kind::Error:
        error_ = *event.error;
        break;
      case ResponseEvent::Kind::Finish:
        finish_reason_ = event.finish;
        break;
      case ResponseEvent::Kind::Reasoning:
      case ResponseEvent::Kind::Text:
      case ResponseEvent::Kind::ToolCall:
      case ResponseEvent::Kind::UpstreamTool:
        break;
    }
  }

  SseFramer framer_;
  std::unique_ptr<EventDecoder> decoder_;
  ThinkLayer think_;
  ToolDetector tools_;
  std::unique_ptr<ResponseEncoder> encoder_;
  ToDecoder to_decoder_;
  ToThink to_think_;
  ToTools to_tools_;
  ToEncoder to_encoder_;

  std::string* out_ = nullptr;
  std::optional<StreamError> error_;
  Usage usage_;
  std::optional<FinishReason> finish_reason_;
  bool finished_ = false;
};

Pipeline::Pipeline(PipelineOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Pipeline::~Pipeline() = default;
Pipeline::Pipeline(Pipeline&&) noexcept = default;
Pipeline& Pipeline::operator=(Pipeline&&) noexcept = default;

void Pipeline::feed(std::string_view bytes, std::string& out) { impl_->feed(bytes, out); }
void Pipeline::finish(std::string& out) { impl_->finish(out); }
void Pipeline::fail(const StreamError& error, std::string& out) { impl_->fail(error, out); }
bool Pipeline::finished() const { return impl_->finished(); }
const ResponseInfo& Pipeline::info() const { return impl_->info(); }
const std::optional<StreamError>& Pipeline::error() const { return impl_->error(); }
const Usage& Pipeline::usage() const { return impl_->usage(); }
std::optional<FinishReason> Pipeline::finish_reason() const { return impl_->finish_reason(); }

}  // namespace zaiproxy
