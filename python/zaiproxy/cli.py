"""The ``zaiproxy`` command."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from typing import BinaryIO

from zaiproxy import core

OUTPUTS = ("openai-sse", "openai-json", "anthropic-sse", "anthropic-json")
THINK_MODES = ("reasoning", "think", "quote", "strip", "details", "drop", "raw")
# The server's liveness route (zaiproxy/server/routes.py). Written here rather than imported:
# importing the routes loads FastAPI, on every probe of a container's health check.
HEALTH_PATH = "/health"


def _cmd_version(_: argparse.Namespace) -> int:
    print(f"zaiproxy {core.__version__}")
    return 0


def _cmd_sign(args: argparse.Namespace) -> int:
    request_id = args.request_id or str(uuid.uuid4())
    timestamp = args.timestamp if args.timestamp is not None else int(time.time() * 1000)
    signature = core.sign(request_id, timestamp, args.user_id, args.prompt, args.key)
    print(f"requestId={request_id}\ntimestamp={timestamp}\nX-Signature={signature}")
    return 0


def _replay(source: BinaryIO, sink: BinaryIO, pipeline: core.Pipeline, chunk_size: int) -> None:
    while chunk := source.read(chunk_size):
        sink.write(pipeline.feed(chunk))
    sink.write(pipeline.finish())


def _cmd_replay(args: argparse.Namespace) -> int:
    pipeline = core.Pipeline(
        output=args.output,
        think=args.think,
        model=args.model,
        include_usage=args.include_usage,
        upstream=args.upstream,
    )
    sink = sys.stdout.buffer
    if args.file == "-":
        _replay(sys.stdin.buffer, sink, pipeline, args.chunk_size)
    else:
        with open(args.file, "rb") as source:
            _replay(source, sink, pipeline, args.chunk_size)
    sink.flush()
    if pipeline.error is not None:
        print(f"upstream error: {pipeline.error['message']}", file=sys.stderr)
        return 1
    return 0


async def _chat(args: argparse.Namespace) -> int:
    # Imported here: the other commands need none of the client.
    from zaiproxy.profile import load_profile
    from zaiproxy.upstream import UpstreamClient, UpstreamError

    client = UpstreamClient(load_profile(), user_tokens=args.token or ())
    request = {"model": args.model, "messages": [{"role": "user", "content": args.prompt}]}
    sink = sys.stdout.buffer
    try:
        plan = client.plan(request)
        async with await client.open(plan, output=args.output, think=args.think) as stream:
            async for data in stream:
                sink.write(data)
                sink.flush()
    except core.RequestError as error:
        print(f"bad request: {error}", file=sys.stderr)
        return 2
    except UpstreamError as error:
        print(f"upstream error ({error.status}): {error}", file=sys.stderr)
        return 1
    finally:
        await client.close()
    return 0


def _cmd_chat(args: argparse.Namespace) -> int:
    return asyncio.run(_chat(args))


def _cmd_serve(args: argparse.Namespace) -> int:
    # Imported here: the server stack is an optional extra the other commands do not need.
    from zaiproxy.serve import ServeOptions, serve

    return serve(
        ServeOptions(
            host=args.host,
            port=args.port,
            workers=args.workers,
            server=args.server,
            env_file=args.env_file,
            pid_file=args.pid_file,
            log_level=args.log_level,
            mock_upstream=args.mock_upstream,
        )
    )


def _aligned(rows: list[tuple[str, str]], indent: str = "  ") -> list[str]:
    """Two columns, the first padded to its widest entry."""
    width = max((len(name) for name, _ in rows), default=0)
    return [f"{indent}{name.ljust(width)}  {value}" for name, value in rows]


def _cmd_check(args: argparse.Namespace) -> int:
    from zaiproxy.check import run_probes, upstream_origin
    from zaiproxy.config import Settings

    try:
        settings = Settings.from_env(env_file=args.env_file)
    except (OSError, ValueError) as error:
        print(f"invalid configuration: {error}", file=sys.stderr)
        return 2
    print("Configuration (secrets masked):")
    print("\n".join(_aligned(settings.masked_summary())))
    for warning in settings.warnings():
        print(f"WARNING: {warning}", file=sys.stderr)
    if args.no_probe:
        return 0
    print(f"\nUpstream probes ({upstream_origin(settings)}):")
    results = asyncio.run(run_probes(settings))
    rows = [(r.name, r.detail) for r in results]
    for result, line in zip(results, _aligned(rows, indent="")):
        print(f"  {'OK' if result.ok else 'FAIL':4}  {line}")
    return 0 if all(r.ok for r in results) else 1


def _cmd_health(args: argparse.Namespace) -> int:
    """Exit status 0 when the server answers its health route, 1 otherwise (Docker's
    HEALTHCHECK reserves 2), with a one-line reason either way."""
    import http.client
    import json
    import urllib.error
    import urllib.request

    url = args.url
    if url is None:
        from zaiproxy.config import Settings
        from zaiproxy.serve import proxy_url

        try:
            settings = Settings.from_env(env_file=args.env_file)
        except (OSError, ValueError) as error:
            print(f"unhealthy: invalid configuration: {error}", file=sys.stderr)
            return 1
        url = proxy_url(settings) + HEALTH_PATH
    # No proxy handler: HTTP_PROXY / HTTPS_PROXY may be set for the upstream, and this probe of
    # the local server must not go through them.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=args.timeout) as response:
            body = json.loads(response.read())
    except urllib.error.HTTPError as error:
        reason = f"HTTP {error.code}"
    except urllib.error.URLError as error:
        reason = str(error.reason)
    # A timeout or a dropped connection while reading, something else than HTTP, not JSON.
    except (OSError, http.client.HTTPException, ValueError) as error:
        reason = str(error) or type(error).__name__
    else:
        if isinstance(body, dict) and body.get("status") == "healthy":
            print(f"healthy: {url}")
            return 0
        reason = f"unexpected answer {body!r}"
    # One line, whatever the error's text holds (a bad status line keeps its line break).
    print(f"unhealthy: {url}: {' '.join(reason.split())}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zaiproxy",
        description="Unofficial OpenAI/Anthropic-compatible proxy for Z.ai GLM models.",
    )
    parser.add_argument("--version", action="version", version=f"zaiproxy {core.__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("version", help="print the version").set_defaults(run=_cmd_version)

    sign = commands.add_parser("sign", help="compute the X-Signature of a completion request")
    sign.add_argument("--user-id", required=True)
    sign.add_argument("--prompt", required=True, help="the text sent as signature_prompt")
    sign.add_argument("--request-id", help="default: a new UUIDv4")
    sign.add_argument("--timestamp", type=int, help="milliseconds; default: now")
    sign.add_argument("--key", default=core.DEFAULT_SIGNING_KEY, help="signing root key")
    sign.set_defaults(run=_cmd_sign)

    replay = commands.add_parser(
        "replay", help="run captured upstream SSE bytes through the core and print the output"
    )
    replay.add_argument("file", help="captured upstream response body, or - for stdin")
    replay.add_argument("--output", choices=OUTPUTS, default="openai-sse")
    replay.add_argument("--think", choices=THINK_MODES, default="reasoning")
    replay.add_argument("--model", default="GLM-4.5")
    replay.add_argument("--upstream", choices=("zai", "openai"), default="zai")
    replay.add_argument("--include-usage", action="store_true")
    replay.add_argument("--chunk-size", type=int, default=65536)
    replay.set_defaults(run=_cmd_replay)

    chat = commands.add_parser(
        "chat",
        help="send one prompt to chat.z.ai (or ZAIPROXY_ORIGIN) and print the API output",
    )
    chat.add_argument("prompt")
    chat.add_argument("--model", default="GLM-4.5")
    chat.add_argument("--output", choices=OUTPUTS, default="openai-sse")
    chat.add_argument("--think", choices=THINK_MODES, default="reasoning")
    chat.add_argument(
        "--token", action="append", help="a chat.z.ai user token (repeatable); default: guests"
    )
    chat.set_defaults(run=_cmd_chat)

    _add_serve_parser(commands)

    check = commands.add_parser(
        "check", help="print the resolved configuration and probe the upstream with it"
    )
    check.add_argument("--env-file", help="read settings from this file instead of ./.env")
    check.add_argument(
        "--no-probe", action="store_true", help="only print the configuration; contact nothing"
    )
    check.set_defaults(run=_cmd_check)

    health = commands.add_parser(
        "health", help="exit 0 if the local server answers its health route, else 1"
    )
    health.add_argument(
        "--url",
        help=f"default: http://<HOST>:<PORT><ROOT_PATH>{HEALTH_PATH} from the settings "
        "(127.0.0.1 for 0.0.0.0)",
    )
    health.add_argument(
        "--env-file", help="read the settings from this file instead of ./.env (for the URL)"
    )
    health.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    health.set_defaults(run=_cmd_health)
    return parser


def _add_serve_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`serve` options: each one, when given, overrides the environment and the env file."""
    serve = commands.add_parser(
        "serve", help="run the OpenAI/Anthropic-compatible HTTP server (Granian or uvicorn)"
    )
    serve.add_argument("--host", help="listen address (HOST; default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="listen port (PORT; default 8080)")
    serve.add_argument("--workers", type=int, help="worker processes (WORKERS; default 1)")
    serve.add_argument("--server", choices=("granian", "uvicorn"), help="default granian")
    serve.add_argument("--env-file", help="read settings from this file instead of ./.env")
    serve.add_argument("--pid-file", help="default <SERVICE_NAME>.pid in the working directory")
    serve.add_argument(
        "--log-level", choices=("critical", "error", "warning", "info", "debug"), type=str.lower
    )
    serve.add_argument(
        "--mock-upstream",
        action="store_true",
        help="answer from a built-in mock of chat.z.ai (try the proxy offline)",
    )
    serve.set_defaults(run=_cmd_serve)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
