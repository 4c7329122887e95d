"""Rows into the services' read models (services/read_models.py): a model takes the row's columns of its names."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

from sqlalchemy import Row

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
AnyRow: TypeAlias = Row[*tuple[Any, ...]]  # a row of any columns


def model(cls: type[T], row: AnyRow, **more: Any) -> T:
    """The model of one row (and of `more`, fields no column holds). A column the model does not name stays
    behind; a field the row lacks keeps its default, and without one it is an error (KeyError): a model never
    stands in for a column it did not get."""
    values = {**row._mapping, **more}
    return cls(
        **{
            f.name: values[f.name]
            for f in fields(cls)
            if f.name in values or (f.default is MISSING and f.default_factory is MISSING)
        }
    )


def model_or_none(cls: type[T], row: AnyRow | None) -> T | None:
    return None if row is None else model(cls, row)


def models(cls: type[T], rows: Iterable[AnyRow]) -> list[T]:
    return [model(cls, row) for row in rows]
