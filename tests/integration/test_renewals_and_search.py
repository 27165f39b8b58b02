"""Renewal lists for NCB heads and administrators; the administrators' member search."""

from __future__ import annotations

from datetime import timedelta

import pytest

from isecom.client import ClientError
from isecom.services import members
from isecom.services.ports import Application
from isecom.types import Email, MemberStatus
from tests.integration.conftest import Instance, signed_in_member


async def member_with_term(instance: Instance, email: str, name: str, country: str, days: int) -> str:
    """An active member whose membership ends in ``days`` days; returns the id."""
    new = members.NewMember.parse(email=email, name=name, country=country, agency="Demo Unit", roles=[])
    invitation = await members.create_member(
        instance.context.store, instance.clock, instance.cfg.server_key, new, actor=None
    )
    now = instance.clock.now()
    async with instance.context.store.transaction() as tx:
        await tx.members.set_status(invitation.member.id, MemberStatus.ACTIVE)
        await tx.applications.add(
            Application(
                member_id=invitation.member.id,
                phone="+33 1 23 45 67 89",
                position="Investigator",
                languages=("fr",),
                nominator_email=Email.parse("head@isecom.example"),
                submitted_at=now,
                membership_expires_at=now + timedelta(days=days),
            )
        )
    return invitation.member.id.value


async def test_ncb_heads_see_their_countrys_memberships_ending_soon_and_renew_them(instance: Instance) -> None:
    soon = await member_with_term(instance, "anne.petit@isecom.example", "Anne Petit", "FR", 20)
    later = await member_with_term(instance, "luc.bernard@isecom.example", "Luc Bernard", "FR", 100)
    await member_with_term(instance, "amina.odhiambo@isecom.example", "Amina Odhiambo", "KE", 10)
    ncb = await signed_in_member(
        instance, "lina.moreau@isecom.example", name="Lina Moreau", country="FR", agency="Demo NCB", roles=["ncb_head"]
    )
    instance.clock.advance(seconds=30)
    plain = await signed_in_member(
        instance, "camille.roux@isecom.example", name="Camille Roux", country="FR", agency="Demo ARO", roles=[]
    )
    try:
        due = await ncb._call("GET", "/api/v1/memberships/renewals")
        assert due["within_days"] == 60
        assert [m["id"] for m in due["memberships"]] == [soon]  # not KE, not in 100 days
        assert due["memberships"][0]["membership_expires_at"].startswith(
            (instance.clock.now() + timedelta(days=20)).date().isoformat()
        )
        wider = await ncb._call("GET", "/api/v1/memberships/renewals?within_days=120")
        assert [m["id"] for m in wider["memberships"]] == [soon, later]
        for bad in ("0", "400", "x", "-1"):
            with pytest.raises(ClientError) as caught:
                await ncb._call("GET", f"/api/v1/memberships/renewals?within_days={bad}")
            assert caught.value.status == 400
        with pytest.raises(ClientError) as caught:
            await plain._call("GET", "/api/v1/memberships/renewals")
        assert caught.value.status == 403

        renewed = await ncb._call("POST", f"/api/v1/applications/{soon}/renewal", {"term_days": 365})
        assert renewed["membership_expires_at"].startswith(
            (instance.clock.now() + timedelta(days=385)).date().isoformat()
        )
        assert (await ncb._call("GET", "/api/v1/memberships/renewals"))["memberships"] == []
    finally:
        await ncb.close()
        await plain.close()


async def test_administrators_find_members_by_name_email_agency_and_country(instance: Instance) -> None:
    admin = await signed_in_member(
        instance, "ada.admin@isecom.example", name="Ada Admin", country="FR", agency="Demo Ops", roles=["admin"]
    )
    instance.clock.advance(seconds=30)
    plain = await signed_in_member(
        instance, "camille.roux@isecom.example", name="Camille Roux", country="FR", agency="Demo ARO", roles=[]
    )
    for i in range(30):
        new = members.NewMember.parse(
            email=f"officer{i:02d}@isecom.example",
            name=f"Officer {i:02d}",
            country="KE" if i % 2 else "JO",
            agency="Demo Ethics_Commission" if i == 7 else "Demo Integrity Commission",
            roles=[],
        )
        await members.create_member(instance.context.store, instance.clock, instance.cfg.server_key, new, actor=None)
    try:

        async def search(query: str) -> dict[str, object]:
            found: dict[str, object] = await admin._call("GET", f"/api/v1/admin/members?{query}")
            return found

        first = await search("q=officer")
        assert len(first["members"]) == 25 and first["more"] is True  # type: ignore[arg-type]
        second = await search("q=OFFICER&page=2")
        assert len(second["members"]) == 5 and second["more"] is False  # type: ignore[arg-type]
        names = [m["name"] for m in [*first["members"], *second["members"]]]  # type: ignore[misc]
        assert names == sorted(names) and len(set(names)) == 30
        by_country = await search("q=officer&country=ke")
        assert {m["country"] for m in by_country["members"]} == {"KE"}  # type: ignore[union-attr]
        assert len(by_country["members"]) == 15  # type: ignore[arg-type]
        by_email = await search("q=camille.roux@")
        assert [m["name"] for m in by_email["members"]] == ["Camille Roux"]  # type: ignore[union-attr]
        # "_" is a LIKE wildcard; it matches only itself here.
        by_agency = await search("q=ethics_commission")
        assert [m["name"] for m in by_agency["members"]] == ["Officer 07"]  # type: ignore[union-attr]
        assert (await search("q=%25"))["members"] == []
        for bad in ("page=0", "page=401", "page=x", "country=XX", "q=" + "a" * 101):
            with pytest.raises(ClientError) as caught:
                await search(bad)
            assert caught.value.status == 400, bad
        with pytest.raises(ClientError) as caught:
            await plain._call("GET", "/api/v1/admin/members?q=ada")
        assert caught.value.status == 403
    finally:
        await admin.close()
        await plain.close()
