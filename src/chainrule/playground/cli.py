"""`chainrule playground`: the command-line entry, for `chainrule.cli` to wire in.

parser = subparsers.add_parser("playground", help="...")
add_playground_arguments(parser)
parser.set_defaults(func=run_playground)
"""

from __future__ import annotations

import argparse
import contextlib
import sys

HELP = "train small networks in the browser (a local web server; Ctrl-C stops it)"


def add_playground_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; 0.0.0.0 serves a "
        "class on the local network, with an access token in the URL to share)",
    )
    parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    parser.add_argument(
        "--max-sessions",
        type=int,
        default=40,
        help="at most this many tabs at once (default 40: a class)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="do not open the page in a browser"
    )


def run_playground(args: argparse.Namespace) -> int:
    """Start the server; returns the exit status (2 when the web packages are missing)."""
    try:
        from chainrule.playground.server import serve  # optional extra
    except ImportError as error:
        print(
            f"chainrule playground needs the web packages ({error.name} is missing): "
            "pip install 'chainrule[playground]'",
            file=sys.stderr,
        )
        return 2
    if not 0 < args.port < 65536:
        print(f"invalid port {args.port}", file=sys.stderr)
        return 2
    if not 1 <= args.max_sessions <= 1000:
        print(f"--max-sessions must be 1..1000, not {args.max_sessions}", file=sys.stderr)
        return 2
    with contextlib.suppress(KeyboardInterrupt):
        serve(
            args.host,
            args.port,
            open_browser=not args.no_browser,
            max_sessions=args.max_sessions,
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m chainrule.playground` does the same as `chainrule playground`."""
    parser = argparse.ArgumentParser(prog="chainrule playground", description=HELP)
    add_playground_arguments(parser)
    return run_playground(parser.parse_args(argv))
