"""What the adapters receive from the composition root: config and the ports."""

from __future__ import annotations

from dataclasses import dataclass

from isecom.config import Config
from isecom.services.ports import BlobStore, Clock, Store


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    store: Store
    blobs: BlobStore
    clock: Clock
