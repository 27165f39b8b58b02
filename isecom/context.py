"""What the adapters receive from the composition root: config and the ports."""

from __future__ import annotations

from dataclasses import dataclass, field

from isecom.config import Config
from isecom.crypto import keytrans
from isecom.crypto.gateway import Gateway, gateway_seed
from isecom.services import keydir, live
from isecom.services.ports import BlobStore, Clock, Store


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    store: Store
    blobs: BlobStore
    clock: Clock
    live: live.Hub = field(default_factory=live.Hub)

    @property
    def authority(self) -> keydir.Authority:
        """The key log's signing keys, from the configuration (the root's may be offline)."""
        return keydir.Authority(
            origin=self.config.public_url,
            root_pk=self.config.root_pk,
            root_seed=self.config.root_seed,
            log_seed=keytrans.log_key_seed(self.config.server_key),
        )

    @property
    def gateway(self) -> Gateway:
        """The SMTP gateway's signing key (PROTOCOL.md §6.6), derived from the server key."""
        return Gateway(gateway_seed(self.config.server_key))
