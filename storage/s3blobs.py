"""S3-compatible blob store (AWS S3, MinIO, Ceph RGW, Garage, …) over aiobotocore.

The same contract as the filesystem store (tests/contract/test_blobs.py): ids are
checked by the same rule, a blob appears whole or not at all, an overwrite replaces
it atomically, and memory stays bounded. A blob no larger than one part is sent with
one PUT; a larger one goes as a multipart upload of ``part_size`` pieces that is
aborted on any failure (too large, the client went away, the server refused), so no
half-written object and no orphan parts are left. S3 makes an object visible only when
its PUT or CompleteMultipartUpload succeeds, which gives the atomic rename for free.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, suppress
from datetime import UTC, datetime, timedelta
from typing import Any

from aiobotocore.session import get_session
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from isecom.config import ObjectStore
from isecom.errors import NotFound, TooLarge, Unavailable
from storage.blobs import _ID_RE, READ_CHUNK, check_blob_id

MIN_PART = 5 * 1024 * 1024  # S3's smallest part (all but the last)
DEFAULT_PART = 8 * 1024 * 1024
_MISSING = frozenset({"404", "NoSuchKey", "NotFound"})


class S3BlobStore:
    """A BlobStore on one bucket; ``async with S3BlobStore(settings) as blobs`` opens the client."""

    def __init__(self, settings: ObjectStore, *, part_size: int = DEFAULT_PART) -> None:
        if part_size < MIN_PART:
            raise ValueError("part_size must be at least 5 MiB (S3's smallest part)")
        self.settings = settings
        self.part_size = part_size
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def __aenter__(self) -> S3BlobStore:
        s = self.settings
        credentials = {"aws_access_key_id": s.access_key, "aws_secret_access_key": s.secret_key} if s.access_key else {}
        boto = BotoConfig(
            s3={"addressing_style": s.addressing},
            retries={"max_attempts": 4, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        self._client = await self._stack.enter_async_context(
            get_session().create_client(
                "s3", region_name=s.region, endpoint_url=s.endpoint or None, config=boto, **credentials
            )
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
        self._client = None

    def _key(self, blob_id: str) -> str:
        return self.settings.prefix + check_blob_id(blob_id)

    async def put(self, blob_id: str, chunks: AsyncIterator[bytes], *, max_bytes: int) -> int:
        key = self._key(blob_id)
        part_size = self.part_size
        buffer = bytearray()
        written = 0
        upload_id: str | None = None
        parts: list[dict[str, Any]] = []
        try:
            async for chunk in chunks:
                written += len(chunk)
                if written > max_bytes:
                    raise TooLarge(f"The object is larger than {max_bytes} bytes.")
                buffer += chunk
                while len(buffer) > part_size:  # one byte at least stays for the last part
                    if upload_id is None:
                        upload_id = (await self._call("create_multipart_upload", Key=key))["UploadId"]
                    parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer[:part_size])))
                    del buffer[:part_size]
            if upload_id is None:
                await self._call("put_object", Key=key, Body=bytes(buffer))
                return written
            parts.append(await self._part(key, upload_id, len(parts) + 1, bytes(buffer)))
            await self._call("complete_multipart_upload", Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
            upload_id = None
            return written
        finally:
            if upload_id is not None:
                await self._abort(key, upload_id)

    async def _part(self, key: str, upload_id: str, number: int, data: bytes) -> dict[str, Any]:
        answer = await self._call("upload_part", Key=key, UploadId=upload_id, PartNumber=number, Body=data)
        return {"PartNumber": number, "ETag": answer["ETag"]}

    async def _abort(self, key: str, upload_id: str) -> None:
        # What an abort could not remove, the next sweep (``listing``) or a lifecycle rule does.
        with suppress(ClientError, BotoCoreError, OSError):
            await self._client.abort_multipart_upload(Bucket=self.settings.bucket, Key=key, UploadId=upload_id)

    async def _call(self, method: str, **kwargs: Any) -> Any:
        """One S3 request; a missing key is NotFound, anything else the store being unavailable."""
        if self._client is None:
            raise Unavailable("The object store is not open.")
        try:
            answer = await getattr(self._client, method)(Bucket=self.settings.bucket, **kwargs)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in _MISSING:
                raise NotFound() from None
            raise Unavailable("The object store refused the request.", debug=f"{method}: {code}") from None
        except (BotoCoreError, OSError) as exc:
            raise Unavailable("The object store cannot be reached.", debug=f"{method}: {type(exc).__name__}") from None
        return answer

    async def get(self, blob_id: str) -> AsyncIterator[bytes]:
        answer = await self._call("get_object", Key=self._key(blob_id))
        body = answer["Body"]
        try:
            pending = bytearray()
            while data := await body.read(READ_CHUNK - len(pending)):
                pending += data
                if len(pending) == READ_CHUNK:
                    yield bytes(pending)
                    pending.clear()
            if pending:
                yield bytes(pending)
        finally:
            body.close()

    async def size(self, blob_id: str) -> int:
        answer = await self._call("head_object", Key=self._key(blob_id))
        return int(answer["ContentLength"])

    async def exists(self, blob_id: str) -> bool:
        try:
            await self.size(blob_id)
        except NotFound:
            return False
        return True

    async def delete(self, blob_id: str) -> bool:
        key = self._key(blob_id)
        if not await self.exists(blob_id):
            return False
        await self._call("delete_object", Key=key)
        return True

    async def check_writable(self) -> None:
        probe = f"{self.settings.prefix}.ready-probe"
        await self._call("put_object", Key=probe, Body=b"ok")
        await self._call("delete_object", Key=probe)

    async def ids(self) -> AsyncIterator[str]:
        """Every blob id under the prefix (for backups and audits)."""
        async for name, _ in self._objects():
            yield name

    async def listing(self, *, older_than: float) -> AsyncIterator[str]:
        """Ids of the blobs written more than ``older_than`` seconds ago; multipart uploads that died
        (a crash) that old are aborted on the way, as the filesystem store deletes its temp files."""
        cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
        for key, upload_id in await self._stale_uploads(cutoff):
            await self._abort(key, upload_id)
        async for name, modified in self._objects():
            if modified < cutoff:
                yield name

    async def _objects(self) -> AsyncIterator[tuple[str, datetime]]:
        prefix = self.settings.prefix
        async for page in self._pages("list_objects_v2", Prefix=prefix):
            for item in page.get("Contents", []):
                name = str(item["Key"])[len(prefix) :]
                if _ID_RE.fullmatch(name):
                    yield name, item["LastModified"]

    async def _stale_uploads(self, cutoff: datetime) -> list[tuple[str, str]]:
        found = []
        async for page in self._pages("list_multipart_uploads", Prefix=self.settings.prefix):
            for item in page.get("Uploads", []):
                if item["Initiated"] < cutoff:
                    found.append((str(item["Key"]), str(item["UploadId"])))
        return found

    async def _pages(self, method: str, **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        if self._client is None:
            raise Unavailable("The object store is not open.")
        try:
            async for page in self._client.get_paginator(method).paginate(Bucket=self.settings.bucket, **kwargs):
                yield page
        except (ClientError, BotoCoreError, OSError) as exc:
            raise Unavailable("The object store cannot be listed.", debug=f"{method}: {type(exc).__name__}") from None
