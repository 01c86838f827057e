"""Run a captured chat.z.ai response through each stage of the core, then the whole pipeline.

.venv/bin/python examples/replay_capture.py tests/golden/b_thinking_answer.sse
"""

from __future__ import annotations

import sys
from pathlib import Path

from zaiproxy import core


def main(path: str) -> None:
    captured = Path(path).read_bytes()

    print("── SSE events and what the z.ai decoder makes of them")
    decoder = core.ZaiDecoder()
    for sse in core.SseFramer().feed(captured):
        for event in decoder.feed(sse.data):
            print(f"  {event.kind:<10} {event.phase:<9} {event.text!r:.70}")
    decoder.finish()
    print(f"  document: {decoder.document!r:.100}")

    for output in ("openai-sse", "anthropic-json"):
        print(f"── Pipeline(output={output!r}, think='think')")
        pipeline = core.Pipeline(output=output, think="think", model="GLM-4.5")
        print((pipeline.feed(captured) + pipeline.finish()).decode())


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/golden/b_thinking_answer.sse")
