"""The city's certificate settings (j1000, j1040, j1050, j1070; domain/certificate_settings.py): the defaults per
kind, the signer and seal, the overflow policy, printers and the kiosk fee — read by the counter, changed by the
administrator, a new version each time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from juki.domain import certificate_settings as settings_rules
from juki.domain.certificate_settings import CertificateSettings
from juki.domain.errors import Conflict
from juki.domain.intake import free_text
from juki.policy.roles import REGISTER_READ, STAFF_ADMIN, Actor
from juki.services.audit import LogEntry, utc
from juki.services.authorization import authorize
from juki.services.certificate_office import CertificateOffice, settings_in, versioned_settings
from juki.services.unit_of_work import UnitOfWorkFactory


def settings_in_force(uow_factory: UnitOfWorkFactory, office: CertificateOffice) -> CertificateSettings:
    """The settings as the counter's form opens with them (the defaults it ticks); not personal data, not logged."""
    with uow_factory() as uow:
        return settings_in(uow, office)


def _may_read_settings(uow_factory: UnitOfWorkFactory, actor: Actor) -> None:
    """The counter reads them (its form shows the defaults); the administrator sets them."""
    if not actor.may(REGISTER_READ):
        authorize(uow_factory, actor, STAFF_ADMIN, "certificate:settings")


def settings_of(uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice) -> dict[str, Any]:
    _may_read_settings(uow_factory, actor)
    with uow_factory() as uow:
        version, settings = versioned_settings(uow, office)
        row = office.store(uow).settings()
    return {
        "version": version,
        "changed_at": utc(row.changed_at).isoformat() if row is not None else None,
        "changed_by": row.changed_by if row is not None else None,
        "settings": settings.as_dict(),
    }


def change_settings(
    uow_factory: UnitOfWorkFactory, actor: Actor, office: CertificateOffice, payload: Mapping[str, Any]
) -> dict[str, Any]:
    """A new version of the settings (the whole document), with the reason; `version` is the one it replaces
    (`409 conflict` if another change came first)."""
    authorize(uow_factory, actor, STAFF_ADMIN, "certificate:settings")
    settings = settings_rules.parse(payload["settings"])
    reason = free_text(payload, "reason", 500)
    with uow_factory() as uow:
        current, before = versioned_settings(uow, office)
        expected = payload.get("version")
        if expected is not None and expected != current:
            raise Conflict("設定はほかの職員が変更しました。読み直してください", "version")
        office.store(uow).add_settings(
            {
                "version": current + 1,
                "settings": settings.as_dict(),
                "changed_at": uow.now,
                "changed_by": actor.staff_id,
                "reason": reason,
            }
        )
        changed = sorted(k for k, v in settings.as_dict().items() if before.as_dict().get(k) != v)
        uow.log(
            actor,
            LogEntry("certificate:settings", detail=f"version={current + 1} changed={','.join(changed)}"),
        )
        uow.commit()
    return settings_of(uow_factory, actor, office)
