"""HTML pages of the Focal Point directory: country pages and their history, profile editing, events.

Country pages and revisions are rendered on the server (Markdown made safe by ``richtext``);
editing forms send JSON through their page script, which carries the CSRF token.
"""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from aiohttp import web

from isecom.countries import COUNTRIES
from isecom.errors import InvalidInput, NotFound
from isecom.services import countryprofiles, events, profiles
from isecom.services.profile_ports import EXPERTISE, SECTIONS, CountryProfile
from isecom.types import Country, Language, MemberId, Role
from webmail import i18n
from webmail.keys import CONTEXT
from webmail.middleware import MEMBER
from webmail.profiles_api import event_json
from webmail.render import language, render
from webmail.richtext import render as markdown

routes = web.RouteTableDef()

# Offered in the forms and filters besides our four; any other ISO 639-1 code can be typed.
COMMON_LANGUAGES = ("pt", "ru", "zh", "de", "it", "tr", "id", "sw", "hi", "ur", "fa", "nl", "pl", "uk", "ja", "ko")


@cache
def time_zones() -> list[str]:
    return sorted(zoneinfo.available_timezones())


def _country(raw: str) -> Country:
    try:
        return Country.parse(raw)
    except InvalidInput:
        raise web.HTTPNotFound() from None


def _languages(lang: Language) -> list[tuple[str, str]]:
    ours = [(code, i18n.language_label(code, lang)) for code in profiles.OUR_LANGUAGES]
    others = sorted(
        ((code, i18n.language_label(code, lang)) for code in COMMON_LANGUAGES), key=lambda x: i18n.sort_key(x[1])
    )
    return ours + others


def _common(request: web.Request) -> dict[str, Any]:
    lang = language(request)
    return {
        "member": request[MEMBER],
        "languages_offered": _languages(lang),
        "language_label": lambda code: i18n.language_label(code, lang),
        "country_label": lambda code: i18n.country_name(code, lang),
        "expertise_keys": EXPERTISE,
        "sections": SECTIONS,
    }


def directory_values(request: web.Request) -> dict[str, Any]:
    """What the directory page adds for its filters: the country asked for (?country=) or the member's."""
    raw = request.query.get("country")
    values = _common(request)
    del values["member"]  # the directory page passes it itself
    if raw is None:
        values["chosen_country"] = request[MEMBER].country.code
    else:
        values["chosen_country"] = raw.upper() if raw.upper() in COUNTRIES else ""
    return values


@routes.get("/countries", name="countries")
async def country_index(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    lang = language(request)
    with_profile = set(await countryprofiles.countries(context.store))
    return render(
        request,
        "countries.html",
        countries=i18n.countries(lang),
        with_profile=sorted(with_profile, key=lambda c: i18n.sort_key(i18n.country_name(c, lang))),
        **_common(request),
    )


async def _country_page(request: web.Request, country: Country, shown: CountryProfile | None, *, old: bool) -> Any:
    context = request.config_dict[CONTEXT]
    people = await profiles.country_people(context.store, country)
    latest = await countryprofiles.current(context.store, country) if old else shown
    return render(
        request,
        "country.html",
        country=country.code,
        name=i18n.country_name(country.code, language(request)),
        profile=shown,
        latest=latest,
        old=old,
        rendered={k: markdown(v) for k, v in (shown.facts.sections.items() if shown else ())},
        people=people,
        editable=countryprofiles.may_edit(request[MEMBER], country),
        **_common(request),
    )


@routes.get("/countries/go", name="country-go")
async def country_go(request: web.Request) -> web.Response:
    """The country picker of /countries (works without script)."""
    country = _country(request.query.get("country", ""))
    raise web.HTTPSeeOther(f"/countries/{country.code}")


@routes.get("/countries/{country}", name="country")
async def country_page(request: web.Request) -> web.Response:
    """The country's profile, its Focal Points, NCB head(s) and agency heads."""
    country = _country(request.match_info["country"])
    shown = await countryprofiles.current(request.config_dict[CONTEXT].store, country)
    response: web.Response = await _country_page(request, country, shown, old=False)
    return response


@routes.get("/countries/{country}/history", name="country-history")
async def country_history(request: web.Request) -> web.Response:
    country = _country(request.match_info["country"])
    found = await countryprofiles.history(request.config_dict[CONTEXT].store, country)
    return render(
        request,
        "country-history.html",
        country=country.code,
        name=i18n.country_name(country.code, language(request)),
        revisions=found,
        **_common(request),
    )


@routes.get("/countries/{country}/history/{revision:[0-9]{1,9}}", name="country-revision")
async def country_revision(request: web.Request) -> web.Response:
    country = _country(request.match_info["country"])
    try:
        shown = await countryprofiles.revision(
            request.config_dict[CONTEXT].store, country, int(request.match_info["revision"])
        )
    except NotFound:
        raise web.HTTPNotFound() from None
    response: web.Response = await _country_page(request, country, shown, old=True)
    return response


@routes.get("/countries/{country}/edit", name="country-edit")
async def country_edit(request: web.Request) -> web.Response:
    """The form; the API refuses a save from anyone but the NCB head or an administrator."""
    country = _country(request.match_info["country"])
    shown = await countryprofiles.current(request.config_dict[CONTEXT].store, country)
    return render(
        request,
        "country-edit.html",
        country=country.code,
        name=i18n.country_name(country.code, language(request)),
        profile=shown,
        editable=countryprofiles.may_edit(request[MEMBER], country),
        **_common(request),
    )


async def _profile_edit(request: web.Request, member_id: MemberId) -> web.Response:
    try:
        found = await profiles.get(request.config_dict[CONTEXT].store, request[MEMBER], member_id)
    except NotFound:
        raise web.HTTPNotFound() from None
    return render(
        request,
        "profile-edit.html",
        target=found.member,
        profile=found.profile,
        editable=profiles.may_edit(request[MEMBER], found.member),
        own=found.member.id == request[MEMBER].id,
        time_zones=time_zones(),
        **_common(request),
    )


@routes.get("/account/profile", name="account-profile")
async def own_profile(request: web.Request) -> web.Response:
    return await _profile_edit(request, request[MEMBER].id)


@routes.get("/profiles/{member_id}/edit", name="profile-edit")
async def profile_edit(request: web.Request) -> web.Response:
    try:
        member_id = MemberId.parse(request.match_info["member_id"])
    except InvalidInput:
        raise web.HTTPNotFound() from None
    return await _profile_edit(request, member_id)


@routes.get("/events", name="events")
async def events_page(request: web.Request) -> web.Response:
    context = request.config_dict[CONTEXT]
    upcoming, past = await events.listing(context.store, context.clock)
    return render(
        request,
        "events.html",
        upcoming=upcoming,
        past=past,
        admin=Role.ADMIN in request[MEMBER].roles,
        describe=markdown,
        edit_data=event_json,
        **_common(request),
    )
