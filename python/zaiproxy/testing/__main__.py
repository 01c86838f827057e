"""`python -m zaiproxy.testing`: serve a mock chat.z.ai until interrupted."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from zaiproxy.testing.mock import MockUpstream
from zaiproxy.testing.replies import Reply


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m zaiproxy.testing", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765, help="0 picks a free port")
    parser.add_argument(
        "--fe-version",
        action="append",
        dest="fe_versions",
        help="a prod-fe-x.y.z the landing page references (repeatable)",
    )
    parser.add_argument("--min-fe-version", default="prod-fe-1.0.94")
    parser.add_argument("--stale-version-status", type=int, choices=(405, 426), default=426)
    parser.add_argument("--signature-tolerance", type=float, default=300.0, help="seconds")
    parser.add_argument(
        "--bulk-events",
        type=int,
        default=0,
        help="answer every completion with a pre-rendered stream of this many events",
    )
    parser.add_argument(
        "--bulk-text", default="token ", help="the text of each --bulk-events delta"
    )
    parser.add_argument(
        "--stall-seconds",
        type=float,
        default=0.0,
        help="hold every completion stream this long after its headers, before its first event",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    mock = MockUpstream(
        host=args.host,
        port=args.port,
        fe_versions=tuple(args.fe_versions or ["prod-fe-1.1.98"]),
        min_fe_version=args.min_fe_version,
        stale_version_status=args.stale_version_status,
        signature_tolerance=args.signature_tolerance,
    )
    if args.bulk_events:
        mock.default_reply = Reply.bulk(args.bulk_events, args.bulk_text)
    if args.stall_seconds:
        mock.default_reply = mock.default_reply.stall(after=0, seconds=args.stall_seconds)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(mock.serve(lambda: print(mock.url, flush=True)))


if __name__ == "__main__":
    main()
