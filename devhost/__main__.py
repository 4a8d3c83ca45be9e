"""``python -m devhost serve|token``: the local host and its token helper (development only)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

DEFAULT_PORT = 7071
DEFAULT_DATA_DIR = ".devdata"


def _serve(args: argparse.Namespace) -> int:
    from devhost.app import LocalHost

    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    line = logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s", defaults={"correlation_id": "-"})
    for handler in logging.getLogger().handlers:  # every line names its invocation's correlation id
        handler.setFormatter(line)
    host = LocalHost(port=args.port, data_dir=Path(args.data_dir), bind=args.bind, tls_port=args.tls_port)
    try:
        host.start()
    except Exception as exc:  # e.g. a bad setting or a busy port: say which, no traceback
        print(f"devhost: cannot start: {exc}", file=sys.stderr)
        return 2
    stopped = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopped.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"Competency portal on {host.base_url}/  (sign in as any partner, user or role the local host knows)", flush=True)
    print(f"Competency suite listening on {host.base_url}/api/  (health: {host.base_url}/api/health)", flush=True)
    print(f"MSA sign-in stand-in on {host.tls_base_url}  (data: {host.data_dir})", flush=True)
    print(
        f"Get a token:  .venv/bin/python -m devhost token --port {args.port} --tenant <tid> [--user <oid>] [--roles Program.Operator]",
        flush=True,
    )
    stopped.wait()
    print("devhost: shutting down", flush=True)
    host.stop()
    return 0


def _token(args: argparse.Namespace) -> int:
    url = args.url or f"http://localhost:{args.port}"
    payload = {
        "tenant": args.tenant,
        "user": args.user,
        "upn": args.upn,
        "roles": [r.strip() for r in (args.roles or "").split(",") if r.strip()],
        "lifetime": args.lifetime,
        "version": args.version,
        "appOnly": args.app_only,
    }
    request = urllib.request.Request(  # noqa: S310  (the local host on loopback)
        f"{url}/_dev/entra/token",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (loopback URL)
            print(json.loads(response.read())["access_token"])
    except urllib.error.URLError as exc:
        print(f"devhost: no local host answers at {url} ({exc.reason}); start it with 'make run'", file=sys.stderr)
        return 2
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devhost", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the function app and the Microsoft stand-ins")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--data-dir", default=os.environ.get("DATA_DIR", DEFAULT_DATA_DIR))
    serve.add_argument("--bind", default="127.0.0.1", help="address to listen on (loopback by default)")
    serve.add_argument("--tls-port", type=int, default=0, help="port of the HTTPS stand-ins (MSA); 0 picks a free one")
    serve.set_defaults(run=_serve)
    token = commands.add_parser("token", help="print an access token the local host accepts")
    token.add_argument("--tenant", required=True, help="tenant id (tid, a GUID as Entra's)")
    token.add_argument("--user", help="object id (oid); random when omitted")
    token.add_argument("--upn", help="user principal name (preferred_username)")
    token.add_argument("--roles", help="comma-separated app roles, e.g. Partner.Admin or Program.Operator")
    token.add_argument("--port", type=int, default=DEFAULT_PORT, help="port of the running local host")
    token.add_argument("--url", help="base URL of the running local host (instead of --port)")
    token.add_argument("--lifetime", type=int, default=3600, help="seconds")
    token.add_argument("--version", choices=("1.0", "2.0"), default="2.0", help="access token version (ver)")
    token.add_argument("--app-only", action="store_true", help="an application's token (roles, no scp)")
    token.set_defaults(run=_token)
    args = parser.parse_args(argv)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
