"""Line numbers of FHIRPath locations in a JSON payload, so findings say where as well as what.

A regex tokenizer walks the raw JSON once (strings, including large base64 payloads, are single tokens) and
records the line where each element's value starts, keyed like our locations (``Bundle.entry[1].resource``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


class _Tokens:
    def __init__(self, text: str) -> None:
        self.text = text
        self.matches: Iterator[re.Match[str]] = _TOKEN.finditer(text)
        self.line = 1
        self.last = 0

    def next(self) -> tuple[str, int]:
        match = next(self.matches)
        self.line += self.text.count("\n", self.last, match.start())
        self.last = match.start()
        return match.group(), self.line


def _value(tokens: _Tokens, token: str, line: int, path: str, index: dict[str, int]) -> None:
    index.setdefault(path, line)
    if token == "{":
        token, line = tokens.next()
        while token != "}":
            key = json.loads(token)
            tokens.next()  # ":"
            value, value_line = tokens.next()
            _value(tokens, value, value_line, f"{path}.{key}", index)
            token, line = tokens.next()
            if token == ",":
                token, line = tokens.next()
    elif token == "[":
        position = 0
        token, line = tokens.next()
        while token != "]":
            _value(tokens, token, line, f"{path}[{position}]", index)
            position += 1
            token, line = tokens.next()
            if token == ",":
                token, line = tokens.next()


def json_lines(raw: bytes, root: str) -> dict[str, int]:
    """``{FHIRPath: line}`` for every element of ``raw``; empty when the text cannot be walked."""
    try:
        tokens = _Tokens(raw.decode("utf-8-sig"))
        index: dict[str, int] = {}
        first, line = tokens.next()
        _value(tokens, first, line, root, index)
        return index
    except (StopIteration, ValueError, UnicodeDecodeError, RecursionError):
        return {}


def line_of(index: dict[str, int], location: str) -> int | None:
    """The line of ``location`` or of its nearest ancestor present in the payload."""
    while location:
        if location in index:
            return index[location]
        cut = max(location.rfind("."), location.rfind("["))
        if cut <= 0:
            return None
        location = location[:cut]
    return None
