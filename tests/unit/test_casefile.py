"""Checklist case copies (docs/PROTOCOL.md §12) in Python: round trips and every check failing."""

from __future__ import annotations

import secrets

import pytest

from isecom.crypto import casefile
from isecom.crypto.errors import CryptoError
from isecom.crypto.keys import EncKey, Identity


def _member() -> Identity:
    return Identity.generate(secrets.token_bytes(16), created=1_764_316_800)


def test_wrap_label_and_note_round_trip() -> None:
    alice, bob = _member(), _member()
    case_id, key = secrets.token_bytes(16), secrets.token_bytes(32)
    commit = casefile.commitment(key, case_id)
    enc_kid, wrap = casefile.wrap(key, case_id, bob.current.pk)
    assert len(wrap) == casefile.WRAP_BYTES == 96
    assert casefile.unwrap(bob, enc_kid, wrap, case_id, commit) == key
    label = casefile.seal_label(key, case_id, "Opération Héron — fictive")
    assert len(label) == 4 + 24 + 256 + 16  # every short label has the same size
    assert casefile.open_label(key, case_id, label) == "Opération Héron — fictive"
    note = casefile.seal_note(key, case_id, alice, "Compte gelé à midi.\nSuite lundi.", created_ms=1_764_316_800_123)
    opened = casefile.open_note(key, case_id, note, alice.sig_pk)
    assert opened.text == "Compte gelé à midi.\nSuite lundi." and opened.author_uid == alice.uid
    assert opened.created_ms == 1_764_316_800_123 and opened.case_id == case_id


def test_an_old_encryption_key_still_opens_its_wrap() -> None:
    bob = _member()
    case_id, key = secrets.token_bytes(16), secrets.token_bytes(32)
    enc_kid, wrap = casefile.wrap(key, case_id, bob.current.pk)
    renewed = Identity(bob.uid, bob.sig_seed, (*bob.enc_keys, EncKey(1_764_400_000, secrets.token_bytes(32))))
    assert renewed.current.pk != bob.current.pk
    assert casefile.unwrap(renewed, enc_kid, wrap, case_id, casefile.commitment(key, case_id)) == key


def test_wraps_fail_with_the_check_named() -> None:
    bob, eve = _member(), _member()
    case_id, key = secrets.token_bytes(16), secrets.token_bytes(32)
    commit = casefile.commitment(key, case_id)
    enc_kid, wrap = casefile.wrap(key, case_id, bob.current.pk)
    cases = [
        (eve, enc_kid, wrap, case_id, commit, "recipient"),  # not wrapped to a key eve holds
        (bob, enc_kid, wrap[:-1] + bytes([wrap[-1] ^ 1]), case_id, commit, "unwrap"),
        (bob, enc_kid, wrap, secrets.token_bytes(16), commit, "unwrap"),  # copied from another case
        (bob, enc_kid, wrap, case_id, casefile.commitment(secrets.token_bytes(32), case_id), "commitment"),
    ]
    for reader, kid, w, cid, kc, check in cases:
        with pytest.raises(CryptoError) as caught:
            casefile.unwrap(reader, kid, w, cid, kc)
        assert caught.value.check == check


def test_labels_and_notes_fail_with_the_check_named() -> None:
    alice, bob = _member(), _member()
    case_id, key = secrets.token_bytes(16), secrets.token_bytes(32)
    label = casefile.seal_label(key, case_id, "label")
    with pytest.raises(CryptoError) as caught:
        casefile.open_label(key, secrets.token_bytes(16), label)  # moved to another case
    assert caught.value.check == "decrypt"
    with pytest.raises(CryptoError) as caught:
        casefile.open_label(key, case_id, b"ISX1" + label[4:])
    assert caught.value.check == "format"
    note = casefile.seal_note(key, case_id, alice, "text", created_ms=1)
    other_case = secrets.token_bytes(16)
    forged_author = note[:37] + bob.uid + note[53:]  # the header is the associated data
    bad = [
        (note[:100], case_id, alice.sig_pk, "format"),
        (b"ISN2" + note[4:], case_id, alice.sig_pk, "version"),
        (note, other_case, alice.sig_pk, "recipient"),
        (forged_author, case_id, alice.sig_pk, "decrypt"),
        (note[:-1] + bytes([note[-1] ^ 1]), case_id, alice.sig_pk, "decrypt"),
        (note, case_id, bob.sig_pk, "signature"),
    ]
    for sealed, cid, sig_pk, check in bad:
        with pytest.raises(CryptoError) as caught:
            casefile.open_note(key, cid, sealed, sig_pk)
        assert caught.value.check == check
    # A participant holds the case key but not the author's signing key: a note "by alice"
    # sealed by bob fails the signature check.
    by_bob = casefile.seal_note(key, case_id, bob, "pretending", created_ms=1)
    impostor = by_bob[:37] + alice.uid + by_bob[53:]
    with pytest.raises(CryptoError):
        casefile.open_note(key, case_id, impostor, alice.sig_pk)
