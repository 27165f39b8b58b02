#!/usr/bin/env python3
"""Render the nginx configuration for isecom from ``isecom.conf.in`` (standard library only).

    python3 deploy/nginx/render.py --server-name isecom.example \\
        --upstream 127.0.0.1:8081 --upstream 127.0.0.1:8082 \\
        --cert /etc/ssl/isecom/fullchain.pem --key /etc/ssl/isecom/privkey.pem \\
        --static-root /var/lib/isecom/www > /etc/nginx/conf.d/isecom.conf

writes a file for nginx's ``http { }`` context (Debian's nginx.conf includes conf.d/*.conf).
``--standalone PREFIX`` writes a whole nginx.conf instead, with the pid file, logs and
temporary files under PREFIX, for an unprivileged nginx on high loopback ports (the tests
and bench/scale): ``nginx -p PREFIX -c PREFIX/nginx.conf``.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import sys
from pathlib import Path

TEMPLATE = Path(__file__).with_name("isecom.conf.in")
# The headers of webmail/middleware.py security_headers(); tests compare them with the app's.
CSP = (
    "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:; "
    "frame-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), interest-cohort=()"
MAX_CHUNK_BLOB = 16 * 1024 * 1024 + 40  # docs/PROTOCOL.md §8.1: 16 MiB chunk + nonce + tag
CHUNK_BODY_BYTES = MAX_CHUNK_BLOB + 64 * 1024  # a little slack; the application checks the exact size

STANDALONE = """\
# Standalone nginx for isecom (tests, bench/scale): nginx -p {prefix} -c {prefix}/nginx.conf
{user}worker_processes {workers};
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 1024;
}}
http {{
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;

{site}}}
"""


def host_port(text: str) -> str:
    """HOST:PORT or PORT (all addresses); IPv6 hosts in brackets."""
    if text.isdigit():
        port, host = text, ""
    else:
        host, sep, port = text.rpartition(":")
        if not sep or not port.isdigit():
            raise argparse.ArgumentTypeError(f"expected HOST:PORT or PORT, got {text!r}")
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            if not re.fullmatch(r"[A-Za-z0-9.-]+", host):
                raise argparse.ArgumentTypeError(f"not a host name or address: {host!r}") from None
    if not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"port out of range: {port}")
    return text


def safe(text: str) -> str:
    """A value placed in the configuration: no spaces, quotes, semicolons or braces."""
    if not text or re.search(r"[\s;{}'\"#$\\]", text):
        raise argparse.ArgumentTypeError(f"not allowed in an nginx configuration value: {text!r}")
    return text


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server-name", type=safe, required=True, help="the public host name, e.g. isecom.example")
    parser.add_argument(
        "--upstream", type=host_port, action="append", required=True, help="an application process (repeat)"
    )
    parser.add_argument("--listen", type=host_port, default="443", help="HTTPS: [HOST:]PORT (default 443)")
    parser.add_argument(
        "--redirect-listen", type=host_port, default="80", help="plain HTTP that redirects: [HOST:]PORT (default 80)"
    )
    parser.add_argument(
        "--public-url", type=safe, help="where the redirect points (default https://SERVER_NAME[:PORT])"
    )
    parser.add_argument("--cert", type=safe, required=True, help="PEM certificate chain")
    parser.add_argument("--key", type=safe, required=True, help="PEM private key (readable by root only)")
    parser.add_argument(
        "--static-root", type=safe, required=True, help="folder holding static/<build>/… (export_static.py)"
    )
    parser.add_argument(
        "--max-request-bytes", type=int, default=8 * 1024 * 1024, help="as server.max_request_bytes (default 8 MiB)"
    )
    parser.add_argument("--signin-rate", type=safe, default="30r/m", help="per client address (default 30r/m)")
    parser.add_argument("--signin-burst", type=int, default=10, help="requests above the rate let through at once")
    parser.add_argument("--access-log", type=safe, help="file (default: nginx's, or PREFIX/access.log)")
    parser.add_argument("--standalone", type=Path, metavar="PREFIX", help="write a whole nginx.conf for PREFIX")
    parser.add_argument("--user", type=safe, help="standalone: the user nginx's workers run as")
    parser.add_argument("--workers", type=int, default=1, help="standalone: worker processes (default 1)")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[0-9]+r/[sm]", args.signin_rate):
        parser.error("--signin-rate: like 30r/m or 5r/s")
    if args.signin_burst < 0 or args.max_request_bytes < 1024 or args.workers < 1:
        parser.error("--signin-burst ≥ 0, --max-request-bytes ≥ 1024, --workers ≥ 1")
    return args


def render(args: argparse.Namespace) -> str:
    https_port = args.listen.rpartition(":")[2]
    public_url = args.public_url or f"https://{args.server_name}" + ("" if https_port == "443" else f":{https_port}")
    access_log = args.access_log or (f"{args.standalone.resolve()}/access.log" if args.standalone else None)
    values = {
        "UPSTREAM_SERVERS": "\n".join(f"    server {u} max_fails=1 fail_timeout=5s;" for u in args.upstream),
        "SIGNIN_RATE": args.signin_rate,
        "SIGNIN_BURST": str(args.signin_burst),
        "REDIRECT_LISTEN": args.redirect_listen,
        "HTTPS_LISTEN": args.listen,
        "SERVER_NAME": args.server_name,
        "PUBLIC_URL": public_url,
        "ACCESS_LOG": access_log or "/var/log/nginx/isecom.access.log",
        "TLS_CERT": args.cert,
        "TLS_KEY": args.key,
        "MAX_REQUEST_BYTES": str(args.max_request_bytes),
        "CHUNK_BODY_BYTES": str(CHUNK_BODY_BYTES),
        "STATIC_ROOT": args.static_root,
        "CSP": CSP,
        "PERMISSIONS_POLICY": PERMISSIONS_POLICY,
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    left = re.findall(r"@[A-Z_]+@", text)
    if left:
        raise SystemExit(f"render.py: template placeholders without a value: {', '.join(sorted(set(left)))}")
    if args.standalone is None:
        return text
    prefix = args.standalone.resolve()
    user = f"user {args.user};\n" if args.user else ""
    site = "".join(f"    {line}\n" if line else "\n" for line in text.splitlines())
    return STANDALONE.format(prefix=prefix, user=user, workers=args.workers, site=site)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    text = render(args)
    if args.standalone is not None:
        for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (args.standalone / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
