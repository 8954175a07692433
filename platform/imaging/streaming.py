"""HTTP Range responses for cached volumes (RFC 9110 §14): one byte range, 206 or 416."""

import os
import re
from collections.abc import Iterator
from pathlib import Path

from django.http import FileResponse, HttpResponse, StreamingHttpResponse

RANGE_RE = re.compile(r"^bytes=(\d*)-(\d*)$")
STREAM_BLOCK_BYTES = 256 * 1024


class UnsatisfiableRange(Exception):
    pass


def parse_range(header: str, size_bytes: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single-range header; None to ignore the header."""
    match = RANGE_RE.match(header.strip())
    if not match:
        if header.strip().startswith("bytes="):
            raise UnsatisfiableRange(header)  # multiple ranges or garbage: not supported
        return None  # another unit: ignore, send the whole file
    first_text, last_text = match.groups()
    if not first_text and not last_text:
        raise UnsatisfiableRange(header)
    if not first_text:  # suffix: the last N bytes
        suffix = int(last_text)
        if suffix == 0 or size_bytes == 0:
            raise UnsatisfiableRange(header)
        return max(0, size_bytes - suffix), size_bytes - 1
    first = int(first_text)
    last = int(last_text) if last_text else size_bytes - 1
    if first >= size_bytes or last < first:
        raise UnsatisfiableRange(header)
    return first, min(last, size_bytes - 1)


def _read_range(path: Path, first: int, last: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(first)
        remaining = last - first + 1
        while remaining > 0:
            block = handle.read(min(STREAM_BLOCK_BYTES, remaining))
            if not block:
                return
            remaining -= len(block)
            yield block


def file_response(
    path: Path, *, range_header: str | None, content_type: str, filename: str, sha256: str = ""
) -> HttpResponse:
    size_bytes = os.path.getsize(path)
    try:
        byte_range = parse_range(range_header, size_bytes) if range_header else None
    except UnsatisfiableRange:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size_bytes}"
        response["Accept-Ranges"] = "bytes"
        return response
    if byte_range is None:
        response: HttpResponse = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115
        response["Content-Length"] = str(size_bytes)
    else:
        first, last = byte_range
        response = StreamingHttpResponse(
            _read_range(path, first, last), status=206, content_type=content_type
        )
        response["Content-Range"] = f"bytes {first}-{last}/{size_bytes}"
        response["Content-Length"] = str(last - first + 1)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    if sha256:
        response["ETag"] = f'"{sha256}"'
    response["Cache-Control"] = "private, max-age=3600"
    return response
