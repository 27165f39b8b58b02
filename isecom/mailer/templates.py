"""The membership mails, in English source text; catalogs translate them.

Mails carry no message content of any kind: only membership steps and links.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


def N_(text: str) -> str:  # noqa: N802 - the gettext marker Babel extracts
    return text


@dataclass(frozen=True, slots=True)
class Template:
    subject: str
    body: str


TEMPLATES: dict[str, Template] = {
    "application.confirm": Template(
        N_("Confirm your application to isecom"),
        N_(
            "Hello %(name)s,\n\nplease confirm that this is your official address by opening this link "
            "within 24 hours:\n\n%(link)s\n\nIf you did not apply, ignore this mail."
        ),
    ),
    "application.duplicate": Template(
        N_("Someone applied to isecom with your address"),
        N_(
            "Hello,\n\nan application to isecom was made with this address, which already belongs to an "
            "account. Nothing was changed. If you need help, sign in at %(base_url)s or contact your "
            "administrator."
        ),
    ),
    "application.to_nominate": Template(
        N_("An application is waiting for your nomination"),
        N_(
            "Hello,\n\n%(applicant)s has applied to isecom and named you as the head of their agency. "
            "Please review the application:\n\n%(link)s"
        ),
    ),
    "application.to_authorize": Template(
        N_("An application is waiting for your authorization"),
        N_(
            "Hello,\n\nthe application of %(applicant)s has been nominated by their agency head and now "
            "needs the authorization of the National Central Bureau:\n\n%(link)s"
        ),
    ),
    "application.rejected": Template(
        N_("Your application to isecom"),
        N_(
            "Hello %(name)s,\n\nyour application was not accepted at the %(step)s step. The reason given:\n\n%(reason)s"
        ),
    ),
    "application.approved": Template(
        N_("Your isecom account is ready to activate"),
        N_(
            "Hello %(name)s,\n\nyour membership has been authorized. Activate your account within 7 days "
            "with this single-use link:\n\n%(link)s\n\nYou will choose a password, set up an "
            "authentication app and receive a recovery code."
        ),
    ),
    "security.signin_failures": Template(
        N_("Repeated failed sign-ins to your isecom account"),
        N_(
            "Hello %(name)s,\n\nthere were several failed attempts to sign in to your account, and sign-in is "
            "paused for a while. If this was not you, tell your administrator; your password and keys are not "
            "known to the server, so the attempts cannot have succeeded without them."
        ),
    ),
    "keys.reset": Template(
        N_("New keys for your isecom account"),
        N_(
            "Hello %(name)s,\n\nafter a new authorization your account gets new keys. Mail encrypted to your old "
            "keys can no longer be opened by anyone, including you. Activate your account again within 7 days:"
            "\n\n%(link)s"
        ),
    ),
    "membership.renewal_due": Template(
        N_("A membership ends soon: renewal needed"),
        N_(
            "Hello,\n\nthe membership of %(member)s ends on %(date)s. The head of the National Central Bureau "
            "can renew it here:\n\n%(link)s"
        ),
    ),
    "membership.renewed": Template(
        N_("Your isecom membership was renewed"),
        N_("Hello %(name)s,\n\nyour membership was renewed until %(date)s."),
    ),
    "security.password_changed": Template(
        N_("Your isecom password was changed"),
        N_(
            "Hello %(name)s,\n\nthe password of your account was changed and your other sessions were signed "
            "out. If this was not you, tell your administrator at once."
        ),
    ),
    "security.recovery_used": Template(
        N_("A recovery code was used on an isecom account"),
        N_(
            "Hello,\n\nthe recovery code of the account of %(member)s was used to set a new password; every "
            "session was signed out and a new recovery code was issued. If this was not expected, contact "
            "the member and your administrator."
        ),
    ),
    "security.keys_rotated": Template(
        N_("Your isecom encryption key was renewed"),
        N_(
            "Hello %(name)s,\n\na new encryption key was made for your account and published in the key log. "
            "Mail sent to your older keys still opens, and your signing key and safety number are unchanged. "
            "If this was not you, change your password and tell your administrator at once."
        ),
    ),
    # Content-free by design (isecom/services/notify.py): no sender, subject, count or content,
    # so every notice is the same mail. Goes to the member's own external address.
    "notify.new_mail": Template(
        N_("You have new secure mail"),
        N_("You have new secure mail.\n\n%(link)s"),
    ),
    "notify.confirm": Template(
        N_("Confirm your address for isecom notices"),
        N_(
            "Hello,\n\nto be told at this address when new secure mail arrives in your isecom mailbox, open "
            "this link within 48 hours while signed in:\n\n%(link)s\n\nThe notices will never contain the "
            "mail itself. If you did not ask for this, ignore this mail: nothing will be sent here."
        ),
    ),
}

STEPS = {"nomination": N_("nomination"), "authorization": N_("authorization")}


def render(template: str, values: dict[str, str], gettext: Callable[[str], str]) -> tuple[str, str]:
    """Subject and body in the language of ``gettext``; unknown placeholders are an error."""
    found = TEMPLATES[template]
    values = dict(values)
    if "step" in values:
        values["step"] = gettext(STEPS.get(values["step"], values["step"]))
    return gettext(found.subject), gettext(found.body) % values
