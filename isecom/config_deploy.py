"""Deployment settings at scale: ``[blobs] backend = "s3"`` and ``[metrics]`` (docs/operations.md).

Part of the configuration (isecom/config.py loads them).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from isecom.config_values import HostPort, parse_host_port, read_secret, read_secret_text, resolve_path
from isecom.errors import ConfigError


@dataclass(frozen=True)
class ObjectStore:
    """An S3-compatible bucket for the blobs. Empty keys: botocore's own chain (env, instance role)."""

    bucket: str
    endpoint: str = ""  # empty: AWS's endpoint for the region
    region: str = "us-east-1"
    prefix: str = ""
    addressing: str = "path"  # "path" (MinIO, Ceph RGW, Garage) or "virtual" (AWS)
    access_key: str = field(default="", repr=False)
    secret_key: str = field(default="", repr=False)

    def __str__(self) -> str:
        return f"s3 {self.endpoint or 'aws'}/{self.bucket}/{self.prefix}"


@dataclass(frozen=True)
class MetricsSettings:
    """The Prometheus endpoint: its own listener, never on the public port."""

    listen: HostPort
    token: bytes = field(default=b"", repr=False)  # empty: loopback only, no token

    def __str__(self) -> str:
        return f"http://{self.listen}/metrics" + (" (bearer token)" if self.token else " (loopback)")


_BUCKET_RE = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def object_store(data_dir: Path, section: dict[str, Any], require: bool) -> ObjectStore | None:
    backend = section["backend"]
    if backend == "files":
        return None
    if backend != "s3":
        raise ConfigError(f"blobs.backend: 'files' or 's3', got {backend!r}")
    bucket, endpoint, prefix = section["s3_bucket"], section["s3_endpoint"], section["s3_prefix"]
    if not _BUCKET_RE.fullmatch(bucket):
        raise ConfigError(f"blobs.s3_bucket: 3-63 lower-case letters, digits, dots and hyphens, got {bucket!r}")
    if endpoint and (urlsplit(endpoint).scheme not in ("http", "https") or not urlsplit(endpoint).netloc):
        raise ConfigError(f"blobs.s3_endpoint: expected https://host[:port], got {endpoint!r}")
    if prefix and not re.fullmatch(r"[A-Za-z0-9._/-]{1,200}/", prefix):
        raise ConfigError(f"blobs.s3_prefix: letters, digits, . _ - / ending with '/', got {prefix!r}")
    if section["s3_addressing"] not in ("path", "virtual"):
        raise ConfigError(f"blobs.s3_addressing: 'path' or 'virtual', got {section['s3_addressing']!r}")
    key_file, secret_file = section["s3_access_key_file"], section["s3_secret_key_file"]
    if bool(key_file) != bool(secret_file):
        raise ConfigError("blobs.s3_secret_key_file: s3_access_key_file and s3_secret_key_file go together")
    access = secret = ""
    if key_file and require:
        access = read_secret_text("blobs.s3_access_key_file", resolve_path(data_dir, key_file))
        secret = read_secret_text("blobs.s3_secret_key_file", resolve_path(data_dir, secret_file))
    return ObjectStore(bucket, endpoint, section["s3_region"], prefix, section["s3_addressing"], access, secret)


def metrics_settings(data_dir: Path, section: dict[str, Any], require: bool) -> MetricsSettings | None:
    if not section["listen"]:
        if section["token_file"]:
            raise ConfigError("metrics.token_file: set metrics.listen too, or remove it")
        return None
    listen = parse_host_port("metrics.listen", section["listen"])
    token = b""
    if section["token_file"] and require:
        token = read_secret("metrics.token_file", resolve_path(data_dir, section["token_file"]))
    if not token and not section["token_file"]:
        try:
            loopback = ipaddress.ip_address(listen.host).is_loopback
        except ValueError:
            loopback = listen.host == "localhost"
        if not loopback:
            raise ConfigError(
                f"metrics.listen: {listen} is not a loopback address; set metrics.token_file to serve it there"
            )
    return MetricsSettings(listen, token)
