"""The Focal Point directory over HTTP: its JSON API and pages, with the permission of every role
enforced by the server (the storage side runs on both backends in tests/contract/test_profiles.py)."""

from __future__ import annotations

from typing import Any

import pytest

from isecom.client import Client, ClientError
from tests.integration.conftest import Instance, signed_in_member

PROFILE: dict[str, Any] = {
    "position": "Financial investigator",
    "phone": "+33 1 23 45 67 89",
    "languages": ["fr", "en", "ro"],
    "availability": "office",
    "timezone": "Europe/Paris",
    "hours": "09:00-17:00",
    "expertise": ["tracing", "virtual_assets"],
}
FACTS: dict[str, Any] = {
    "freezing": "Demo text: a prosecutor may freeze.",
    "freezing_limit": "Demo text: 10 days.",
    "ncbc": "partial",
    "ncbc_text": "",
    "mla_route": "Demo text: through the central authority.",
    "central_authority": "Demo Ministry of Justice",
    "working_languages": ["fr", "en"],
    "sections": {
        "legislative": "## Demo statute\n\n<script>alert('x')</script> [bad](javascript:alert(1)) [ok](https://law.example/)"
    },
    "last_reviewed": "2026-11-20",
}


async def status_of(call: Any) -> int:
    with pytest.raises(ClientError) as caught:
        await call
    return caught.value.status


async def page(client: Client, path: str) -> tuple[int, str]:
    async with client._http.get(client.origin + path, allow_redirects=False) as response:
        return response.status, await response.text()


async def test_profiles_countries_and_events_over_http(instance: Instance) -> None:
    people = {
        "member": ("camille.roux@isecom.example", "Camille Roux", "FR", []),
        "ncb_fr": ("lina.moreau@isecom.example", "Lina Moreau", "FR", ["ncb_head"]),
        "ncb_ke": ("wanjiru.kamau@isecom.example", "Wanjiru Kamau", "KE", ["ncb_head"]),
        "admin": ("ada.admin@isecom.example", "Ada Admin", "CA", ["admin"]),
    }
    clients: dict[str, Client] = {}
    try:
        for key, (email, name, country, roles) in people.items():
            clients[key] = await signed_in_member(
                instance, email, name=name, country=country, agency="Demo Agency", roles=roles
            )
            instance.clock.advance(seconds=30)
        member, ncb_fr, ncb_ke, admin = (clients[k] for k in ("member", "ncb_fr", "ncb_ke", "admin"))
        me = (await member.get("/api/v1/me"))["id"]

        # A member edits their own profile; others get 403 unless NCB head of the country or admin.
        saved = await member.http_put(f"/api/v1/profiles/{me}", PROFILE)
        assert saved["languages"] == ["fr", "en", "ro"] and saved["editable"]
        assert await status_of(ncb_ke.http_put(f"/api/v1/profiles/{me}", PROFILE)) == 403
        assert (await ncb_fr.http_put(f"/api/v1/profiles/{me}", {**PROFILE, "hours": "08:00-16:00"}))["hours"]
        assert (await admin.http_put(f"/api/v1/profiles/{me}", {**PROFILE, "availability": "always"}))["timezone"] == ""
        assert not (await ncb_ke.get(f"/api/v1/profiles/{me}"))["editable"]
        assert await status_of(member.http_put(f"/api/v1/profiles/{'0' * 32}", PROFILE)) == 404
        assert await status_of(member.http_put(f"/api/v1/profiles/{me}", {**PROFILE, "timezone": "Nowhere"})) == 400

        # Search: server-side filters and pages.
        found = await ncb_ke.get("/api/v1/profiles?country=FR&language=ro&expertise=virtual_assets")
        assert [p["name"] for p in found["profiles"]] == ["Camille Roux"] and not found["more"]
        assert (await ncb_ke.get("/api/v1/profiles?language=ro&country=KE"))["profiles"] == []
        assert await status_of(member.get("/api/v1/profiles?expertise=magic")) == 400
        assert await status_of(member.get("/api/v1/profiles?page=x")) == 400
        looked = await ncb_ke.get(
            "/api/v1/profiles/lookup?email=camille.roux@isecom.example&email=nobody@isecom.example"
        )
        assert [(p["email"], p["country"]) for p in looked["profiles"]] == [("camille.roux@isecom.example", "FR")]
        assert (await ncb_ke.get("/api/v1/profiles/lookup?email=half-typed@"))["profiles"] == []
        assert await status_of(ncb_ke.get("/api/v1/profiles/lookup?" + "&".join(["email=a@b.example"] * 21))) == 400

        # Country profile: the NCB head of the country and administrators only; revisions; conflicts.
        assert await status_of(member.http_put("/api/v1/countries/FR", {**FACTS, "base_revision": 0})) == 403
        assert await status_of(ncb_ke.http_put("/api/v1/countries/FR", {**FACTS, "base_revision": 0})) == 403
        first = await ncb_fr.http_put("/api/v1/countries/FR", {**FACTS, "base_revision": 0})
        assert first["profile"]["revision"] == 1
        second = await admin.http_put("/api/v1/countries/fr", {**FACTS, "freezing": "Two.", "base_revision": 1})
        assert second["profile"]["revision"] == 2
        assert await status_of(ncb_fr.http_put("/api/v1/countries/FR", {**FACTS, "base_revision": 1})) == 409
        assert await status_of(ncb_fr.http_put("/api/v1/countries/ZZ", {**FACTS, "base_revision": 0})) == 404
        shown = await member.get("/api/v1/countries/FR")
        assert shown["profile"]["freezing"] == "Two." and not shown["editable"]
        html = shown["profile"]["sections_html"]["legislative"]
        assert "<script>" not in html and "javascript:" not in html.replace("[bad](javascript:", "")
        assert '<a href="https://law.example/">ok</a>' in html
        assert (await ncb_fr.get("/api/v1/countries/FR"))["editable"]
        revs = (await member.get("/api/v1/countries/FR/revisions"))["revisions"]
        assert [(r["revision"], r["saved_by"]) for r in revs] == [(2, "Ada Admin"), (1, "Lina Moreau")]
        assert (await member.get("/api/v1/countries/KE"))["profile"] is None

        # Events: administrators only change them; every member lists them.
        event = {
            "kind": "working_group",
            "title": "Working group (fictional)",
            "starts_on": "2026-12-03",
            "ends_on": "2026-12-03",
            "place": "Online",
            "description": "**Agenda** below.",
            "documents": [{"title": "Agenda", "url": "https://conference.example/agenda"}],
        }
        assert await status_of(ncb_fr.post("/api/v1/meetings", event)) == 403
        created = (await admin.post("/api/v1/meetings", event))["event"]
        assert await status_of(member.http_put(f"/api/v1/meetings/{created['id']}", event)) == 403
        await admin.http_put(f"/api/v1/meetings/{created['id']}", {**event, "place": "Demo city"})
        listed = await member.get("/api/v1/meetings")
        assert [e["place"] for e in listed["upcoming"]] == ["Demo city"] and listed["past"] == []
        assert await status_of(member.http_delete(f"/api/v1/meetings/{created['id']}")) == 403

        # Pages, rendered for a signed-in member.
        status, text = await page(member, "/countries/FR")
        assert status == 200 and "Lina Moreau" in text and "Camille Roux" in text
        assert "&lt;script&gt;" in text and "<script>alert" not in text
        assert "/mail?to=camille.roux%40isecom.example#compose" in text
        assert 'id="edit-country"' not in text
        status, text = await page(ncb_fr, "/countries/FR")
        assert 'id="edit-country"' in text
        status, text = await page(member, "/countries/FR/history")
        assert status == 200 and "/countries/FR/history/1" in text and "Ada Admin" in text
        status, text = await page(member, "/countries/FR/history/1")
        assert status == 200 and 'id="old-revision"' in text and "Demo text: a prosecutor may freeze." in text
        assert (await page(member, "/countries/FR/history/9"))[0] == 404
        assert (await page(member, "/countries/XX"))[0] == 404
        status, text = await page(member, "/countries/go?country=ke")
        assert status == 303
        status, text = await page(member, "/account/profile")
        assert status == 200 and 'value="Financial investigator"' in text
        status, text = await page(ncb_ke, f"/profiles/{me}/edit")
        assert status == 200 and 'id="profile-form"' not in text  # shown, not editable
        status, text = await page(ncb_fr, f"/profiles/{me}/edit")
        assert 'id="profile-form"' in text
        for path in ("/countries", "/events", "/directory", "/countries/FR/edit", "/directory?country=KE"):
            assert (await page(member, path))[0] == 200, path
        status, text = await page(admin, "/events")
        assert 'id="event-form"' in text and "<strong>Agenda</strong>" in text
        await admin.http_delete(f"/api/v1/meetings/{created['id']}")
        assert await status_of(admin.http_delete(f"/api/v1/meetings/{created['id']}")) == 404
    finally:
        for client in clients.values():
            await client.close()


async def test_every_directory_route_needs_a_session(instance: Instance) -> None:
    async with instance.client() as anonymous:
        for path in ("/api/v1/profiles", "/api/v1/countries/FR", "/api/v1/meetings", "/api/v1/countries/FR/revisions"):
            assert await status_of(anonymous.get(path)) == 401, path
        for path in ("/countries/FR", "/events", "/account/profile", "/countries"):
            status, _ = await page(anonymous, path)
            assert status in (302, 303, 401), path
