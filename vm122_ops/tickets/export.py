"""CSV downloads of the Desk's lists: UTF-8, a header row, RFC 4180
quoting, and cells that a spreadsheet would run as a formula (starting with = + - @, tab
or carriage return, OWASP "CSV Injection") prefixed with a single quote, since domains and
failure reasons come from events."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence

from starlette.responses import Response

MAX_ROWS = 10_000  # one download; a larger list is cut there (documented)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(value) for value in row])
    return out.getvalue()


def csv_bytes(header: Sequence[str], documents: Iterable[Mapping[str, object]]) -> bytes:
    """The documents as CSV in UTF-8, each row's cells taken by the header's names: a field
    added to a document later cannot shift the cells under another column's name."""
    rows = ([document[name] for name in header] for document in documents)
    return csv_text(header, rows).encode("utf-8")


def csv_download(filename: str, body: bytes) -> Response:
    """A CSV body (``csv_bytes``) as a download named ``filename``."""
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def csv_response(
    filename: str, header: Sequence[str], documents: Iterable[Mapping[str, object]]
) -> Response:
    """The documents as a CSV download (``csv_bytes``)."""
    return csv_download(filename, csv_bytes(header, documents))
