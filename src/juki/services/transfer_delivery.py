"""A 全件 of the 庁内連携 written to a removable medium is a media export (seed III: 媒体への出力): the same rules and
the same record as every other (services/bulk_output.py) — a staff member who may record media exports, a witness
who is another active staff member, checked before anything is written; then the export's record (purpose, medium,
item count, SHA-256 of the file), append-only. The transfer itself rests on the policy (別紙2), whose delivery log
the file run writes as for any file."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from juki.domain.errors import InvalidField
from juki.policy.roles import MEDIA_RECORD, Actor
from juki.services import bulk_output
from juki.services.authorization import authorize
from juki.services.unit_of_work import UnitOfWorkFactory


def full_to_medium(
    uow_factory: UnitOfWorkFactory,
    actor: Actor,
    write: Callable[[], tuple[int, str]],
    media: Mapping[str, str],
) -> dict[str, Any]:
    """Check the actor, the witness and the medium; `write()` the file ((rows, SHA-256)); record the export."""
    authorize(uow_factory, actor, MEDIA_RECORD, "transfer:media")
    bulk_output.check_witness(uow_factory, actor, media.get("witness_id", ""))
    if media.get("medium") not in bulk_output.MEDIA:
        raise InvalidField(f"媒体は {' / '.join(bulk_output.MEDIA)} のいずれかです", "medium")
    rows, digest = write()
    values = {**media, "item_count": rows, "sha256": digest, "output_id": None}
    return bulk_output.record_media(uow_factory, actor, values)
