"""An S3-protocol server on loopback for the tests (moto's, in a thread), and fresh buckets on it."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator

import pytest
from aiobotocore.session import get_session
from moto.server import ThreadedMotoServer

from isecom.config import ObjectStore
from storage.s3blobs import S3BlobStore
from tests.conftest import free_port

# Fictional credentials: moto accepts any.
ACCESS, SECRET = "test-access-key", "test-secret-key-for-the-loopback-s3"


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


async def make_bucket(endpoint: str) -> ObjectStore:
    """A new, empty bucket and the settings that reach it."""
    bucket = f"isecom-test-{secrets.token_hex(6)}"
    settings = ObjectStore(bucket, endpoint, "us-east-1", "blobs/", "path", ACCESS, SECRET)
    async with get_session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET
    ) as client:
        await client.create_bucket(Bucket=bucket)
    return settings


async def open_multipart_uploads(store: S3BlobStore) -> list[str]:
    answer = await store._client.list_multipart_uploads(Bucket=store.settings.bucket)
    return [str(item["Key"]) for item in answer.get("Uploads", [])]


@pytest.fixture
async def s3_store(s3_endpoint: str) -> AsyncIterator[S3BlobStore]:
    async with S3BlobStore(await make_bucket(s3_endpoint), part_size=5 * 1024 * 1024) as store:
        yield store
