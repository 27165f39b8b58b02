"""Fictional demo data: made-up people at made-up agencies on reserved domains.

Nothing here names a real person or a real agency; the addresses use the
``isecom.example`` domain, which RFC 2606 reserves and nobody can receive.
"""

from __future__ import annotations

from dataclasses import dataclass

from isecom.services import demo_checklists, demo_library, demo_profiles
from isecom.services.members import Invitation, NewMember, create_first_admin, create_member
from isecom.services.ports import BlobStore, Clock, Store
from isecom.types import Email, Role

DEMO_DOMAIN = "isecom.example"

# (local part, name, country, agency, roles, language)
_PEOPLE: tuple[tuple[str, str, str, str, tuple[str, ...], str], ...] = (
    ("ada.admin", "Ada Admin", "FR", "Demo Platform Operations", ("admin",), "en"),
    ("lina.moreau", "Lina Moreau", "FR", "Demo Asset Recovery Office", ("ncb_head",), "fr"),
    ("paul.girard", "Paul Girard", "FR", "Demo Asset Recovery Office", ("agency_head",), "fr"),
    ("camille.roux", "Camille Roux", "FR", "Demo Asset Recovery Office", (), "fr"),
    ("wanjiru.kamau", "Wanjiru Kamau", "KE", "Demo Ethics Commission", ("agency_head",), "en"),
    ("otieno.mwangi", "Otieno Mwangi", "KE", "Demo Ethics Commission", (), "en"),
    ("sofia.almeida", "Sofia Almeida", "BR", "Demo Federal Prosecution Service", (), "es"),
    ("diego.fuentes", "Diego Fuentes", "CL", "Demo Anti-Corruption Unit", ("ncb_head",), "es"),
    ("rania.haddad", "Rania Haddad", "JO", "Demo Integrity Commission", (), "ar"),
    ("omar.khalil", "Omar Khalil", "JO", "Demo Integrity Commission", ("agency_head",), "ar"),
    ("mei.tan", "Mei Tan", "SG", "Demo Financial Investigation Bureau", (), "en"),
    ("erik.lund", "Erik Lund", "CA", "Demo Proceeds of Crime Unit", (), "en"),
)


@dataclass(frozen=True, slots=True)
class DemoResult:
    created: tuple[Invitation, ...]
    skipped: int


async def load(store: Store, clock: Clock, server_key: bytes, blobs: BlobStore | None = None) -> DemoResult:
    """Create the demo members that do not exist yet; safe to run again."""
    created: list[Invitation] = []
    skipped = 0
    for local, name, country, agency, roles, language in _PEOPLE:
        email = Email.parse(f"{local}@{DEMO_DOMAIN}")
        async with store.transaction() as tx:
            exists = await tx.members.by_email(email) is not None
            has_admin = await tx.members.count_with_role(Role.ADMIN) > 0
        if exists:
            skipped += 1
            continue
        new = NewMember.parse(
            email=str(email), name=name, country=country, agency=agency, roles=list(roles), language=language
        )
        if "admin" in roles and not has_admin:
            created.append(await create_first_admin(store, clock, server_key, new))
        else:
            created.append(await create_member(store, clock, server_key, new, actor=None))
    await demo_checklists.load(store, clock)
    await demo_profiles.load(store, clock)
    await demo_library.load(store, clock, blobs)  # library documents need the blob store
    return DemoResult(created=tuple(created), skipped=skipped)
