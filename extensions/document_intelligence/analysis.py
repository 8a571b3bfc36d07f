"""What Document Intelligence would read in a document: pages, lines and words derived from its bytes.

Text documents are read as they are (a form feed starts a new page). PDFs have as many pages as page objects,
and the text of their uncompressed `(...) Tj` strings spread over them. Anything else (an image) is one page
without text. Positions are laid out on a US-letter page, one line every quarter inch.
"""

from __future__ import annotations

import re
import struct
from typing import Any

_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
_PDF_TEXT = re.compile(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj")
LINE_HEIGHT = 0.25  # inches
CHAR_WIDTH = 0.08
MARGIN = 1.0


def read_pages(document: bytes, content_type: str) -> tuple[list[list[str]], tuple[float, float, str]]:
    """Each page's lines, and the page size (width, height, unit)."""
    if document.startswith(b"%PDF"):
        count = max(len(_PDF_PAGE.findall(document)), 1)
        lines = [_pdf_string(raw) for raw in _PDF_TEXT.findall(document)]
        per_page = -(-len(lines) // count) if lines else 0
        return [lines[i * per_page : (i + 1) * per_page] for i in range(count)], (8.5, 11.0, "inch")
    if document.startswith(b"\x89PNG\r\n\x1a\n") and len(document) >= 24:
        width, height = struct.unpack(">II", document[16:24])
        return [[]], (float(width), float(height), "pixel")
    if content_type.startswith("text/") or _is_text(document):
        text = document.decode("utf-8", errors="replace")
        pages = [[line.strip() for line in page.splitlines() if line.strip()] for page in text.split("\f")]
        return pages or [[]], (8.5, 11.0, "inch")
    return [[]], (8.5, 11.0, "inch")


def analyze_result(
    model_id: str, api_version: str, pages: list[list[str]], size: tuple[float, float, str]
) -> dict[str, Any]:
    """The `analyzeResult` of a finished analysis, shaped as the service's (prebuilt-read / prebuilt-layout)."""
    width, height, unit = size
    content_lines: list[str] = []
    offset = 0
    page_bodies = []
    paragraphs = []
    for number, lines in enumerate(pages, start=1):
        page_start = offset
        words: list[dict[str, Any]] = []
        line_bodies: list[dict[str, Any]] = []
        for row, line in enumerate(lines):
            top = MARGIN + row * LINE_HEIGHT
            line_bodies.append(
                {
                    "content": line,
                    "polygon": _box(MARGIN, top, len(line) * CHAR_WIDTH),
                    "spans": [{"offset": offset, "length": len(line)}],
                }
            )
            for match in re.finditer(r"\S+", line):
                words.append(
                    {
                        "content": match.group(),
                        "polygon": _box(MARGIN + match.start() * CHAR_WIDTH, top, len(match.group()) * CHAR_WIDTH),
                        "confidence": 0.995,
                        "span": {"offset": offset + match.start(), "length": len(match.group())},
                    }
                )
            paragraphs.append(
                {
                    "spans": [{"offset": offset, "length": len(line)}],
                    "boundingRegions": [{"pageNumber": number, "polygon": _box(MARGIN, top, len(line) * CHAR_WIDTH)}],
                    "content": line,
                }
            )
            content_lines.append(line)
            offset += len(line) + 1  # the newline after it
        page_bodies.append(
            {
                "pageNumber": number,
                "angle": 0,
                "width": width,
                "height": height,
                "unit": unit,
                "words": words,
                "lines": line_bodies,
                "spans": [{"offset": page_start, "length": max(offset - page_start - 1, 0)}],
            }
        )
    return {
        "apiVersion": api_version,
        "modelId": model_id,
        "stringIndexType": "textElements",
        "content": "\n".join(content_lines),
        "pages": page_bodies,
        "paragraphs": paragraphs,
        "styles": [],
        "contentFormat": "text",
    }


def _box(left: float, top: float, width: float) -> list[float]:
    right, bottom = round(left + width, 4), round(top + LINE_HEIGHT * 0.8, 4)
    return [round(left, 4), round(top, 4), right, round(top, 4), right, bottom, round(left, 4), bottom]


def _pdf_string(raw: bytes) -> str:
    return re.sub(rb"\\(.)", rb"\1", raw).decode("latin-1")


def _is_text(document: bytes) -> bool:
    if b"\x00" in document:
        return False
    try:
        document.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
