"""The first 24-hour initial action checklist template, loaded with the demo data.

The items are generic first steps of an asset-recovery investigation, written for the demo;
administrators edit them at /admin/checklist (each save is a new version).
"""

from __future__ import annotations

from isecom.services import checklists
from isecom.services.checklist_ports import ChecklistItem
from isecom.services.ports import Clock, Store

FIRST_HOURS = "First hours"
DAY_ONE = "By the end of day one"

ITEMS: tuple[ChecklistItem, ...] = (
    ChecklistItem(
        FIRST_HOURS,
        "Record the case and its urgency",
        "Note the offence, the suspects, the assets known so far and why action is urgent (flight risk, "
        "transfers in progress).",
        1,
    ),
    ChecklistItem(
        FIRST_HOURS,
        "Find the Focal Points of the countries concerned",
        "Use the directory to reach the Focal Point of every country where assets or suspects may be, and check "
        "their keys before writing.",
        2,
    ),
    ChecklistItem(
        FIRST_HOURS,
        "Inform the prosecutor or judicial authority",
        "Agree who decides on provisional measures and which authority signs requests abroad.",
        4,
    ),
    ChecklistItem(
        FIRST_HOURS,
        "Check notices and police databases",
        "Search the suspects, companies and documents in the available databases; consider a notice request.",
        4,
    ),
    ChecklistItem(
        FIRST_HOURS,
        "Ask the financial intelligence unit for help",
        "Request financial intelligence and, where the law allows, a postponement of suspicious transactions.",
        6,
    ),
    ChecklistItem(
        FIRST_HOURS,
        "Secure the evidence",
        "Preserve documents and data; record the chain of custody; attach evidence files encrypted, never in clear.",
        8,
    ),
    ChecklistItem(
        DAY_ONE,
        "Request urgent freezing or seizure abroad",
        "Send the counterpart what their law needs for a provisional measure (facts, legal basis, assets, "
        "urgency) and agree on the follow-up request.",
        12,
    ),
    ChecklistItem(
        DAY_ONE,
        "Map the assets to trace",
        "Bank accounts, real estate, vehicles, companies and beneficial owners, virtual assets.",
        24,
    ),
    ChecklistItem(
        DAY_ONE,
        "Prepare the mutual legal assistance request",
        "Check the treaty or convention that applies, the language and the channel of transmission.",
        24,
    ),
    ChecklistItem(
        DAY_ONE,
        "Brief the participants and plan the next steps",
        "Share this checklist with everyone working on the case and agree who does what next.",
        24,
    ),
)


async def load(store: Store, clock: Clock) -> bool:
    """Publish the first template when none exists; True when it did. Safe to run again."""
    async with store.read() as tx:
        if await tx.checklists.latest() is not None:
            return False
    await checklists.publish(store, clock, None, ITEMS)
    return True
