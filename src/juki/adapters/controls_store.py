"""Work orders, 支援措置, alerts, bulk outputs and media export records in SQL, read and
written through the unit of work. Identifiers come from the counters table, so they are sequential per kind."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from sqlalchemy import Connection, and_, insert, or_, select, update

from juki.adapters import tables as t
from juki.adapters.repository import next_counter
from juki.adapters.rows import model_or_none, models
from juki.domain.errors import Conflict
from juki.services.ports import ControlsStore, Values
from juki.services.read_models import (
    Alert,
    BulkOutput,
    MediaRecord,
    ProtectionMeasure,
    SelectedResident,
    WorkOrder,
)


class SqlControlsStore(ControlsStore):
    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def _id(self, counter: str, prefix: str) -> str:
        return f"{prefix}{next_counter(self.conn, counter):07d}"

    # --- work orders ---------------------------------------------------------------------------------------
    def add_work_order(self, values: Values) -> str:
        order_id = self._id("work_order", "W")
        self.conn.execute(insert(t.work_orders).values(order_id=order_id, **values))
        return order_id

    def work_orders(self, contractor_id: str | None = None) -> list[WorkOrder]:
        q = select(t.work_orders).order_by(t.work_orders.c.order_id)
        if contractor_id:
            q = q.where(t.work_orders.c.contractor_id == contractor_id)
        return models(WorkOrder, self.conn.execute(q))

    def work_order(self, order_id: str) -> WorkOrder | None:
        q = select(t.work_orders).where(t.work_orders.c.order_id == order_id)
        return model_or_none(WorkOrder, self.conn.execute(q).first())

    def revoke_work_order(self, order_id: str, at: datetime) -> None:
        c = t.work_orders.c
        done = self.conn.execute(
            update(t.work_orders).where(c.order_id == order_id, c.revoked_at.is_(None)).values(revoked_at=at)
        )
        if done.rowcount != 1:
            raise Conflict("この作業指示は取り消し済みです", "order_id")

    # --- 支援措置 ------------------------------------------------------------------------------------------------
    def add_measure(self, values: Values) -> str:
        measure_id = self._id("measure", "P")
        self.conn.execute(insert(t.protection_measures).values(measure_id=measure_id, version=1, **values))
        return measure_id

    def measure(self, measure_id: str) -> ProtectionMeasure | None:
        c = t.protection_measures.c
        q = select(t.protection_measures).where(c.measure_id == measure_id)
        return model_or_none(ProtectionMeasure, self.conn.execute(q).first())

    def measures(self, state: str | None = None) -> list[ProtectionMeasure]:
        c = t.protection_measures.c
        q = select(t.protection_measures).order_by(c.measure_id)
        if state:
            q = q.where(c.state == state)
        return models(ProtectionMeasure, self.conn.execute(q))

    def change_measure(self, measure_id: str, version: int, values: Values) -> None:
        """Optimistic: the caller read `version`; a concurrent change makes this a conflict."""
        c = t.protection_measures.c
        done = self.conn.execute(
            update(t.protection_measures)
            .where(c.measure_id == measure_id, c.version == version)
            .values(version=version + 1, **values)
        )
        if done.rowcount != 1:
            raise Conflict("この支援措置は他の職員が変更しました", "measure_id")

    def measures_naming(self, persons: Iterable[str], households: Iterable[str]) -> list[ProtectionMeasure]:
        """Every measure naming any of these persons or households, ended ones too: whether one is in force on a
        day (its start, an end recorded for a later day) is the domain's question (`MeasureState`)."""
        c = t.protection_measures.c
        persons, households = list(persons), list(households)
        if not persons and not households:
            return []
        q = select(t.protection_measures).where(
            or_(
                and_(c.subject_kind == "person", c.subject.in_(persons or [""])),
                and_(c.subject_kind == "household", c.subject.in_(households or [""])),
            ),
        )
        return models(ProtectionMeasure, self.conn.execute(q))

    # --- alerts ---------------------------------------------------------------------------------------------
    def add_alert(self, values: Values) -> str:
        alert_id = self._id("alert", "A")
        self.conn.execute(insert(t.alerts).values(alert_id=alert_id, **values))
        return alert_id

    def alerts(self, open_only: bool) -> list[Alert]:
        q = select(t.alerts).order_by(t.alerts.c.alert_id)
        if open_only:
            q = q.where(t.alerts.c.acknowledged_at.is_(None))
        return models(Alert, self.conn.execute(q))

    def acknowledge_alert(self, alert_id: str, staff_id: str, at: datetime) -> bool:
        c = t.alerts.c
        done = self.conn.execute(
            update(t.alerts)
            .where(c.alert_id == alert_id, c.acknowledged_at.is_(None))
            .values(acknowledged_by=staff_id, acknowledged_at=at)
        )
        return done.rowcount == 1

    # --- bulk outputs and media records -----------------------------------------------------------------------
    def add_output(self, values: Values) -> str:
        output_id = self._id("output", "B")
        self.conn.execute(insert(t.bulk_outputs).values(output_id=output_id, **values))
        return output_id

    def output(self, output_id: str) -> BulkOutput | None:
        q = select(t.bulk_outputs).where(t.bulk_outputs.c.output_id == output_id)
        return model_or_none(BulkOutput, self.conn.execute(q).first())

    def outputs(self, state: str | None = None) -> list[BulkOutput]:
        q = select(t.bulk_outputs).order_by(t.bulk_outputs.c.output_id)
        if state:
            q = q.where(t.bulk_outputs.c.state == state)
        return models(BulkOutput, self.conn.execute(q))

    def change_output(self, output_id: str, from_state: str, values: Values) -> None:
        c = t.bulk_outputs.c
        done = self.conn.execute(
            update(t.bulk_outputs).where(c.output_id == output_id, c.state == from_state).values(**values)
        )
        if done.rowcount != 1:
            raise Conflict("この出力依頼は既に処理されています", "output_id")

    def add_media_record(self, values: Values) -> str:
        record_id = self._id("media", "M")
        self.conn.execute(insert(t.media_exports).values(record_id=record_id, **values))
        return record_id

    def media_records(self) -> list[MediaRecord]:
        q = select(t.media_exports).order_by(t.media_exports.c.record_id)
        return models(MediaRecord, self.conn.execute(q))

    # --- the population a bulk output selects ------------------------------------------------------------------
    def select_residents(
        self,
        town: str | None,
        born_from: date | None,
        born_to: date | None,
        status: str,
        with_record: bool = False,
    ) -> list[SelectedResident]:
        """Who a bulk output selects; the records themselves only when it runs (counting needs the numbers)."""
        c = t.residents.c
        columns = [c.addressee_number, c.household_number]
        if with_record:
            columns += [c.status, c.address, c.birth_date, c.sex, c.record]
        q = select(*columns).order_by(c.addressee_number)
        if status != "all":
            q = q.where(c.status == status)
        if town:
            q = q.where(c.address.like(f"%{town}%"))
        if born_from:
            q = q.where(c.birth_date >= born_from)
        if born_to:
            q = q.where(c.birth_date <= born_to)
        return models(SelectedResident, self.conn.execute(q))
