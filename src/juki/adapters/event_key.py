"""The event key: seals the My Number that a register event carries (docs/events.md).

The register's own key file (adapters/vault.py) never leaves the register. The event key is a second key file,
`juki-event-keys.json` beside it, given only to the consumers whose legal basis includes the My Number (the 市町村CS,
the 団体内統合宛名, departments under 番号法9条): they open the sealed number of an event; every other consumer reads
the event without it. The key file has the vault's format and rotation (older keys stay, so older events open).

A sealed number is bound to its event's person and version (AES-GCM associated data), so that it cannot be moved
onto another person's event.
"""

from __future__ import annotations

from pathlib import Path

from juki.adapters.vault import MyNumberVault, load_or_create

FILE_NAME = "juki-event-keys.json"
_CONTEXT = b"juki-event-my-number"


class EventKey(MyNumberVault):
    def seal_for(self, my_number: str, addressee_number: str, version: int) -> str:
        return self._encrypt(my_number.encode("ascii"), _associated(addressee_number, version))

    def open_for(self, token: str, addressee_number: str, version: int) -> str:
        return self._decrypt(token, _associated(addressee_number, version)).decode("ascii")


def _associated(addressee_number: str, version: int) -> bytes:
    return b"%s|%s|%d" % (_CONTEXT, addressee_number.encode("ascii"), version)


def event_key_file(vault_key_file: Path) -> Path:
    return vault_key_file.with_name(FILE_NAME)


def load_or_create_event_key(vault_key_file: Path) -> EventKey:
    """The installation's event key, created with the first start like the vault's."""
    return _as_event_key(load_or_create(event_key_file(vault_key_file)))


def load_event_key(path: str | Path) -> EventKey:
    """A consumer's copy of the key (it never creates one)."""
    return _as_event_key(MyNumberVault.load(path))


def _as_event_key(vault: MyNumberVault) -> EventKey:
    key = EventKey.from_json(vault.to_json())
    assert isinstance(key, EventKey)  # from_json builds the class it is called on
    return key
