"""The API's JSON parser: DRF's, plus the limits a hostile body must not get past.

Every one of these answered 500 before (each further in, where it finally broke):
- nesting deeper than Python's recursion limit (``RecursionError`` inside ``json``), or
  deep enough to exhaust it later when the value is copied, fingerprinted or stored;
- numbers outside a double's range (``1e400`` parses to ``inf``) and the ``NaN`` /
  ``Infinity`` literals: neither PostgreSQL's ``jsonb`` nor a JSON reader accepts them;
- lone UTF-16 surrogates (``"\\ud800"``): valid JSON escapes, but not Unicode text, so they
  cannot be encoded as UTF-8 (the idempotency fingerprint, the database).
Each is refused as ``400 malformed_request`` naming the path where it was found.
"""

import json
import math

from rest_framework.exceptions import ParseError, UnsupportedMediaType
from rest_framework.parsers import JSONParser

# Deeper than any body this API defines needs (a contract's inline tier is 6 levels down).
MAX_DEPTH = 32


class BodyRejected(ParseError):
    """A body that parsed but cannot be accepted; ``path`` is where the problem is."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


def _number(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BodyRejected(f"The number {text[:40]} is out of range.")
    return value


def _constant(name: str):
    raise BodyRejected(f"{name} is not a JSON number.")


def _check_string(value: str, path: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise BodyRejected("A string holds a lone UTF-16 surrogate, which is not Unicode text.", path) from None


def body_check(data, *, max_depth: int = MAX_DEPTH) -> None:
    """Walk a parsed body without recursion: depth bounded, every string (keys too) text."""
    stack = [(data, "", 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            _check_string(value, path)
            continue
        if not isinstance(value, (dict, list)):
            continue
        if depth > max_depth:
            raise BodyRejected(f"The body is nested more than {max_depth} levels deep.", path)
        if isinstance(value, dict):
            for key, item in value.items():
                _check_string(key, path)
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        else:
            for index, item in enumerate(value):
                stack.append((item, f"{path}.{index}" if path else str(index), depth + 1))


def json_loads(text):
    """``json.loads`` with the limits above; raises ``BodyRejected`` (or ``ValueError`` for
    text that is not JSON)."""
    try:
        data = json.loads(text, parse_float=_number, parse_constant=_constant,
                          parse_int=_integer)
    except RecursionError:
        raise BodyRejected(f"The body is nested more than {MAX_DEPTH} levels deep.") from None
    body_check(data)
    return data


def _integer(text: str) -> int:
    # Python parses huge integers exactly (and slowly: quadratic in the digits); no field
    # of this API takes more than a few digits.
    if len(text) > 40:
        raise BodyRejected(f"The number {text[:40]}… is out of range.")
    return int(text)


def charset_of(media_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type, lower case and unquoted; None without one."""
    for parameter in (media_type or "").split(";")[1:]:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


class LimitedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        # JSON is UTF-8 (RFC 8259 8.1): a body declared as UTF-7, Latin-1, … is refused as the
        # media type we do not take, not decoded as declared (UTF-7 smuggles "<" as "+ADw-").
        charset = charset_of(media_type)
        if charset not in (None, "utf-8", "utf8"):
            raise UnsupportedMediaType(media_type, detail=f"JSON bodies are UTF-8; charset={charset} is not accepted.")
        try:
            return json_loads(stream.read().decode("utf-8"))
        except BodyRejected:
            raise
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
