"""A private, throwaway Postfix instance on loopback for bench/smtp's comparison.

Nothing of the system's Postfix is used or touched: the instance has its own configuration
directory (``postfix -c DIR``), queue and data directories, all under one temporary directory
that is removed afterwards, and listens only on ``127.0.0.1:PORT``. It accepts mail for the bench
domain (queued durably: Postfix's cleanup fsyncs the queue file before smtpd answers 250) and hands
every message to the ``discard`` transport: master.cf has no ``smtp``/``lmtp``/``local`` service and
every transport is ``discard``, so nothing can ever leave the machine. It is stopped (and its
master process waited for, killed if need be) before the directory is removed.

    with private_postfix(port, cert_file, key_file, domain) as instance: ...  # bench/smtp/run.py
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

POSTFIX = Path("/usr/sbin/postfix")
INSTALL_HINT = (
    "as root: echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections; "
    "DEBIAN_FRONTEND=noninteractive apt-get install -y postfix  (or run this bench with --install-postfix)"
)


def installed() -> bool:
    return POSTFIX.exists()


def install() -> None:
    """Debian's postfix package, left unconfigured (the bench only ever runs private instances)."""
    if os.geteuid() != 0:
        raise SystemExit("--install-postfix needs root; " + INSTALL_HINT)
    subprocess.run(
        ["debconf-set-selections"], input=b"postfix postfix/main_mailer_type select No configuration\n", check=True
    )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "postfix"], check=True, env=env, stdout=subprocess.DEVNULL)


def _version() -> str:
    out = subprocess.run(["/usr/sbin/postconf", "-d", "-h", "mail_version"], capture_output=True, text=True)
    return out.stdout.strip() or "?"


@dataclass(frozen=True)
class Instance:
    port: int
    folder: Path
    version: str


MAIN_CF = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
myhostname = mx.postfix-bench.example
mydomain = postfix-bench.example
myorigin = $myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
mydestination = {domain}
local_recipient_maps =
alias_maps =
alias_database =
relayhost =
default_transport = discard
local_transport = discard
relay_transport = discard
virtual_transport = discard
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
smtpd_tls_security_level = encrypt
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_loglevel = 0
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_client_message_rate_limit = 0
default_process_limit = 100
message_size_limit = 10240000
biff = no
notify_classes =
"""

# No chroot, no smtp/lmtp/local/pipe services: the only way out is ``discard``.
MASTER_CF = """\
127.0.0.1:{port} inet n - n - - smtpd
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
discard   unix  - - n - - discard
error     unix  - - n - - error
retry     unix  - - n - - error
showq     unix  n - n - - showq
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
"""


def _postfix(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(POSTFIX), "-c", str(config), *args], capture_output=True, text=True, timeout=60, check=False
    )


def _master_pid(root: Path) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int((root / "queue" / "pid" / "master.pid").read_text().split()[0])
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextlib.contextmanager
def private_postfix(port: int, cert_file: Path, key_file: Path, domain: str) -> Iterator[Instance]:
    """Start a private Postfix on 127.0.0.1:``port``; stop it and remove everything on exit."""
    root = Path(tempfile.mkdtemp(prefix="isecom-bench-postfix-"))
    try:
        root.chmod(0o755)  # the postfix user's daemons must reach the queue below it
        config = root / "etc"
        config.mkdir()
        # The bench's throwaway certificate, copied so the daemons can read it.
        cert, key = config / "cert.pem", config / "key.pem"
        shutil.copyfile(cert_file, cert)
        shutil.copyfile(key_file, key)
        key.chmod(0o600)
        (root / "queue").mkdir()
        (root / "data").mkdir()
        shutil.chown(root / "data", "postfix", "postfix")
        (config / "main.cf").write_text(MAIN_CF.format(root=root, domain=domain, cert=cert, key=key))
        (config / "master.cf").write_text(MASTER_CF.format(port=port))
        started = _postfix(config, "start")
        if started.returncode != 0:
            raise RuntimeError(f"postfix start failed: {(started.stderr or started.stdout).strip()[-400:]}")
        deadline = time.monotonic() + 10
        while _master_pid(root) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        try:
            yield Instance(port, root, _version())
        finally:
            pid = _master_pid(root)
            _postfix(config, "stop")
            deadline = time.monotonic() + 15
            while pid is not None and _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if pid is not None and _alive(pid):
                os.kill(pid, signal.SIGKILL)  # only this instance's own master, by its pid file
    finally:
        shutil.rmtree(root, ignore_errors=True)
