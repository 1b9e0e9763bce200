"""Renderers of validation results. Each format is one module exposing ``render(results) -> str``."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from conformance.findings import ArtefactResult

Renderer = Callable[[Sequence[ArtefactResult]], str]


def renderer(name: str) -> Renderer:
    """The renderer of format ``name`` (json, junit, sarif, svrl, text)."""
    from conformance.render import json_format, junit, sarif, svrl, text

    formats: dict[str, Renderer] = {
        "json": json_format.render,
        "junit": junit.render,
        "sarif": sarif.render,
        "svrl": svrl.render,
        "text": text.render,
    }
    try:
        return formats[name]
    except KeyError:
        raise ValueError(f"unknown format {name!r}; choose one of {', '.join(sorted(formats))}") from None


FORMATS = ("text", "json", "junit", "sarif", "svrl")
