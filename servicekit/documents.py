"""A JSON document made of a dataclass's own fields.

Many answers of both services are a record's fields, one key each, in the order the
record declares them, with a few values shown differently (a time as ISO 8601, a stage
by its name) and internal fields left out. ``fields_document`` builds that object, so
the keys are the field names written once (in the dataclass) rather than twice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from _typeshed import DataclassInstance


def fields_document(
    record: DataclassInstance, *, omit: Collection[str] = (), **shown: Any
) -> dict[str, Any]:
    """``record``'s fields in declaration order, but those named in ``omit``; a field
    named in ``shown`` takes that value (formatted by the caller) instead of its own.
    A name in ``shown`` or ``omit`` that is no field is a TypeError, so a typo never
    adds a key to an answer."""
    names = [field.name for field in fields(record)]
    unknown = (shown.keys() | set(omit)).difference(names)
    if unknown:
        raise TypeError(f"{type(record).__name__} has no field {', '.join(sorted(unknown))}")
    return {
        name: shown[name] if name in shown else getattr(record, name)
        for name in names
        if name not in omit
    }
