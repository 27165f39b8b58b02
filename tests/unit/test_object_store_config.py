"""[blobs] backend = "s3": parsed once, fails closed, credentials only from private files."""

from __future__ import annotations

from pathlib import Path

import pytest

from isecom import config
from isecom.errors import ConfigError

S3 = {
    "ISECOM_BLOBS_BACKEND": "s3",
    "ISECOM_BLOBS_S3_ENDPOINT": "https://minio.internal.example:9000",
    "ISECOM_BLOBS_S3_BUCKET": "isecom-blobs",
    "ISECOM_BLOBS_S3_PREFIX": "prod/",
}


def _credentials(data_dir: Path, mode: int = 0o600) -> dict[str, str]:
    access, secret = data_dir / "secrets" / "s3.access", data_dir / "secrets" / "s3.secret"
    access.write_text("FICTIONALACCESSKEY01\n")
    secret.write_text("fictional-secret-key-9f3b2c81d7e6a5\n")
    for path in (access, secret):
        path.chmod(mode)
    return {"ISECOM_BLOBS_S3_ACCESS_KEY_FILE": str(access), "ISECOM_BLOBS_S3_SECRET_KEY_FILE": str(secret)}


def test_files_is_the_default(data_dir: Path) -> None:
    assert config.load(data_dir, env={}).object_store is None


def test_s3_settings_and_describe_keeps_the_secret_out(data_dir: Path) -> None:
    cfg = config.load(data_dir, env={**S3, **_credentials(data_dir)})
    store = cfg.object_store
    assert store is not None
    assert (store.bucket, store.endpoint, store.prefix, store.addressing) == (
        "isecom-blobs",
        "https://minio.internal.example:9000",
        "prod/",
        "path",
    )
    assert store.access_key == "FICTIONALACCESSKEY01" and store.secret_key.startswith("fictional-secret")
    shown = str(cfg.describe()) + repr(cfg)
    assert "fictional-secret" not in shown and "FICTIONALACCESSKEY01" not in shown
    assert "s3 https://minio.internal.example:9000/isecom-blobs/prod/" in shown


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"ISECOM_BLOBS_BACKEND": "ftp"}, "blobs.backend"),
        ({"ISECOM_BLOBS_S3_BUCKET": "Not_A_Bucket"}, "blobs.s3_bucket"),
        ({"ISECOM_BLOBS_S3_BUCKET": ""}, "blobs.s3_bucket"),
        ({"ISECOM_BLOBS_S3_ENDPOINT": "minio:9000"}, "blobs.s3_endpoint"),
        ({"ISECOM_BLOBS_S3_PREFIX": "../x"}, "blobs.s3_prefix"),
        ({"ISECOM_BLOBS_S3_ADDRESSING": "dns"}, "blobs.s3_addressing"),
        ({"ISECOM_BLOBS_S3_ACCESS_KEY_FILE": "secrets/s3.access"}, "blobs.s3_secret_key_file"),
    ],
)
def test_bad_settings_name_the_key(data_dir: Path, change: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigError) as refused:
        config.load(data_dir, env={**S3, **change})
    assert refused.value.message.startswith(key)


def test_credentials_readable_by_others_are_refused(data_dir: Path) -> None:
    with pytest.raises(ConfigError, match="chmod 600"):
        config.load(data_dir, env={**S3, **_credentials(data_dir, 0o644)})
