"""Create an instance's data directory: config, generated secrets, blob folder.

Idempotent: existing files are never overwritten, so ``isecom init`` can run
before every start.
"""

from __future__ import annotations

import os
from pathlib import Path

from isecom.config import CONFIG_NAME
from isecom.crypto import keytrans
from isecom.crypto.tokens import random_secret_hex

CONFIG_TEMPLATE = """\
# isecom instance configuration. Every key can be overridden by an environment
# variable ISECOM_<SECTION>_<KEY>, e.g. ISECOM_SERVER_HTTP=127.0.0.1:9090.
# Secrets are never written here: only paths to files (mode 0600).

[server]
public_url = "http://127.0.0.1:8080"   # the address members use; https:// turns on HSTS
http = "127.0.0.1:8080"
smtp = "127.0.0.1:2525"
max_request_bytes = 8388608

[database]
url = "sqlite:///isecom.db"            # relative to this folder; or postgresql://user@host/db
# url_file = "secrets/database.url"    # a URL with a password belongs in a file

[blobs]
path = "blobs"                         # backend "files": encrypted chunks under this folder
# backend = "s3"                       # or an S3-compatible object store (docs/operations.md):
# s3_endpoint = "https://minio.internal.example:9000"
# s3_bucket = "isecom-blobs"
# s3_access_key_file = "secrets/s3.access"
# s3_secret_key_file = "secrets/s3.secret"

[metrics]                              # Prometheus text format, never on the public port
listen = ""                            # e.g. "127.0.0.1:9464"; off when empty
# token_file = "secrets/metrics.token" # required when listen is not a loopback address

[mail]
domains = ["isecom.example"]

[secrets]
server_key_file = "secrets/server.key"
root_key_file = "secrets/root.key"     # the platform root signing key; may move offline (`isecom keys root`)

[keys]
root_public_file = "root.pub"           # the root's public key, pinned by clients
checkpoint_seconds = 5                  # how often the key log signs a checkpoint when it grew

[log]
format = "plain"                        # or "json"
level = "INFO"

[i18n]
default_language = "en"                 # en, fr, es or ar

[outbound]
relay = ""                              # HOST:PORT of the SMTP relay; empty: mail is written to mail-sink/
sender = "isecom <no-reply@isecom.example>"
require_tls = false                     # refuse a relay that does not offer STARTTLS

[smtp]                                  # the inbound SMTP gateway (listens on server.smtp)
tls_cert_file = ""                      # PEM certificate chain; with tls_key_file, STARTTLS is offered
tls_key_file = ""                       # PEM private key, mode 0600
# require_tls = true                    # refuse MAIL before STARTTLS; always true when public_url is https
max_message_bytes = 52428800            # SIZE, advertised and enforced (552 above it)
max_recipients = 100                    # per message (452 above it)
max_line_bytes = 1001                   # RFC 5321: 998 characters, CRLF and a transparent dot
idle_timeout_seconds = 300              # a silent client is disconnected

# Who may send mail in, per member country (ISO code). Deny by default: a sender is
# admitted for a country's members only when its envelope domain is listed for that
# country AND it connects from one of the country's relays or signs in (SMTP AUTH,
# over TLS) as the country's auth_user, whose secret is in a 0600 file:
#   [smtp.senders.KE]
#   domains = ["eacc.go.ke"]
#   relays = ["192.0.2.0/24", "2001:db8::/32"]
#   auth_user = "ke-relay"
#   auth_secret_file = "secrets/smtp-ke.secret"
# Development only: the demo's fictional agency relay on this machine. Remove in production.
[smtp.senders.FR]
domains = ["agency-relay.example"]
relays = ["127.0.0.1/32"]

[sessions]
idle_minutes = 30                       # signed out after this long without a request
absolute_hours = 12                     # and after this long in any case

[files]
max_file_bytes = 21474836480            # largest evidence file (20 GiB; at most 2^40)
quota_bytes = 107374182400              # per member: every file they uploaded, declared sizes (100 GiB)

[notify]                                # "You have new secure mail" at a member's own outside address
interval_minutes = 15                   # at most one notice per member per this many minutes
digest_hour = 7                         # UTC hour of the daily digest, for members who chose it
"""


def create(data_dir: Path) -> list[str]:
    """Create what is missing; return what was created, for the CLI to print."""
    created: list[str] = []
    if not data_dir.exists():
        data_dir.mkdir(parents=True, mode=0o700)
        created.append(str(data_dir))
    secrets_dir = data_dir / "secrets"
    if not secrets_dir.exists():
        secrets_dir.mkdir(mode=0o700)
        created.append(str(secrets_dir))
    key = secrets_dir / "server.key"
    if not key.exists():
        _write_private(key, random_secret_hex(32) + "\n")
        created.append(str(key))
    root_key, root_pub = secrets_dir / "root.key", data_dir / "root.pub"
    if not root_pub.exists():
        seed = random_secret_hex(32)
        _write_private(root_key, seed + "\n")
        created.append(str(root_key))
        pk, _ = keytrans.signing_keypair(bytes.fromhex(seed))
        root_pub.write_text(pk.hex() + "\n", encoding="ascii")
        created.append(str(root_pub))
    config = data_dir / CONFIG_NAME
    if not config.exists():
        config.write_text(CONFIG_TEMPLATE, encoding="utf-8")
        created.append(str(config))
    blobs = data_dir / "blobs"
    if not blobs.exists():
        blobs.mkdir(mode=0o700)
        created.append(str(blobs))
    return created


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
