"""PDF export of the HTML report (optional ``[pdf]`` extra: weasyprint, which needs system Pango ≥ 1.44)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn


class PdfUnavailable(RuntimeError):
    """weasyprint (or its system libraries) is missing."""


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    # The report is self-contained; refusing every fetch keeps the export offline even on hostile content.
    raise ValueError(f"external resource refused: {url[:100]}")


def render_pdf(html: str, output: Path) -> Path:
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: the Pango/fontconfig libraries are missing
        raise PdfUnavailable(
            "PDF export needs the [pdf] extra (pip install 'dmp-conformance[pdf]') and the "
            f"system packages libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core ({exc})"
        ) from exc
    HTML(string=html, url_fetcher=_no_fetch).write_pdf(output)
    return output
