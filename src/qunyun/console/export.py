"""CSV export of any table, streamed, with a UTF-8 byte-order mark so Excel reads Chinese.

Use :func:`csv_response` from a view::

    return csv_response(request, filename="members.csv", header=["name", "messages"],
                        rows=((r.name, r.messages) for r in rows))

``rows`` may be any iterable (a generator that reads the database chunk by chunk is best: an
export of 200,000 members is never held in memory). Under ASGI (``qunyun serve``) the rows are
pulled in chunks on Django's sync thread, so the response streams there too.

Cells that begin with ``=``, ``+``, ``-``, ``@``, tab or carriage return are prefixed with ``'``:
member names come from strangers, and a spreadsheet would otherwise run them as formulas.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime, tzinfo
from datetime import timezone as dt_timezone
from typing import Any

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import timezone

BOM = "\ufeff"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_CHUNK_ROWS = 500


class _Echo:
    """A file-like object whose write() returns the text (csv.writer writes one row per call)."""

    def write(self, value: str) -> str:
        return value


def csv_cell(value: Any, tz: tzinfo | None = None) -> Any:
    """A value made safe and plain for a CSV cell; aware times are shown in ``tz`` (default UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if timezone.is_aware(value):
            value = value.astimezone(tz or dt_timezone.utc)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (list, tuple)):
        value = "; ".join(str(v) for v in value)
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_lines(header: Iterable[Any], rows: Iterable[Iterable[Any]], *, tz: tzinfo | None = None) -> Iterator[str]:
    """The CSV text, line by line, starting with the BOM and the header."""
    writer = csv.writer(_Echo())
    yield BOM + writer.writerow([str(h) for h in header])
    for row in rows:
        yield writer.writerow([csv_cell(v, tz) for v in row])


def safe_filename(name: str) -> str:
    """An ASCII file name for Content-Disposition (letters, digits, '-', '_', '.')."""
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return cleaned or "export.csv"


async def _stream_async(lines: Iterator[str]):
    def take() -> str:
        out = []
        for line in lines:
            out.append(line)
            if len(out) >= _CHUNK_ROWS:
                break
        return "".join(out)

    while True:
        chunk = await sync_to_async(take, thread_sensitive=True)()
        if not chunk:
            return
        yield chunk


def csv_response(request, *, filename: str, header: Iterable[Any], rows: Iterable[Iterable[Any]],
                 tz: tzinfo | None = None) -> StreamingHttpResponse:
    """A streamed ``text/csv`` download of ``header`` and ``rows`` (times in ``tz``, default UTC)."""
    lines = csv_lines(header, rows, tz=tz)
    content = _stream_async(lines) if isinstance(request, ASGIRequest) else lines
    response = StreamingHttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{safe_filename(filename)}"'
    response["Cache-Control"] = "no-store"
    return response


class CsvExportMixin:
    """For class-based views: ``?format=csv`` answers with :meth:`csv_header` / :meth:`csv_rows`."""

    csv_filename = "export.csv"
    csv_tz: tzinfo | None = None

    def csv_header(self) -> list[str]:  # pragma: no cover - to be overridden
        raise NotImplementedError

    def csv_rows(self) -> Iterable[Iterable[Any]]:  # pragma: no cover - to be overridden
        raise NotImplementedError

    def get(self, request, *args, **kwargs):
        if request.GET.get("format") == "csv":
            return csv_response(request, filename=self.csv_filename, header=self.csv_header(), rows=self.csv_rows(),
                                tz=self.csv_tz)
        return super().get(request, *args, **kwargs)
