"""The rules every URL a merchant gives us must follow (redirect URLs, webhook endpoints).

Pure: returns what is wrong (a stable code and a message), so the API serializers and the
services can each raise their own error type from the same rules.
"""

import re
from urllib.parse import quote, urlsplit

URL_MAX = 2083
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
# As the merchant wrote it, or percent-encoded by their URL library.
_SESSION_ID_PLACEHOLDERS = (
    SESSION_ID_PLACEHOLDER,
    quote(SESSION_ID_PLACEHOLDER),
    quote(SESSION_ID_PLACEHOLDER).replace("%7B", "%7b").replace("%7D", "%7d"),
)

_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")

# Every URL a merchant gives us matches this, whole, and the OpenAPI schema publishes it as the
# fields' ``pattern`` (ECMA-262 and Python read it alike): http(s), a host that is a DNS name
# with a top-level domain (letters; internationalised names in the common scripts, punycoded
# where headers need ASCII), an IPv4 or bracketed IPv6 address or localhost, an optional port 0–65535, then a
# path, query or fragment without spaces or control characters. No user info.
# U+1680 OGHAM SPACE MARK sits inside the Greek-to-Greek-Extended block but is a space (``\s``
# in both engines, refused by ``url_problem``): the host ranges skip it, so the pattern never
# admits a host the server refuses (Hypothesis found ``HTTP://0.A\u1680``).
_IDN = "\u00c0-\u024f\u0370-\u167f\u1681-\u1fff\u3040-\u9fff\uac00-\ud7a3"
_LABEL = f"[A-Za-z0-9{_IDN}](?:[A-Za-z0-9{_IDN}-]{{0,61}}[A-Za-z0-9{_IDN}])?"
_TLD = f"[A-Za-z{_IDN}]{{2,63}}"
_OCTET = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = f"{_OCTET}(?:\\.{_OCTET}){{3}}"
_H = "[0-9A-Fa-f]{1,4}"
# Every textual IPv6 form (RFC 4291 2.2, without zone ids), as Python's ipaddress reads them.
_IPV6 = "(?:" + "|".join([
    f"(?:{_H}:){{7}}{_H}", f"(?:{_H}:){{1,7}}:", f"(?:{_H}:){{1,6}}:{_H}",
    f"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}", f"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}",
    f"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}", f"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}",
    f"{_H}:(?::{_H}){{1,6}}", f":(?:(?::{_H}){{1,7}}|:)",
    f"(?:{_H}:){{6}}{_IPV4}", f"::(?:{_H}:){{0,5}}{_IPV4}",
    # k + 1 groups, "::", at most 4 - k more, then the IPv4 tail (two groups' worth).
    *(f"(?:{_H}:){{{k}}}{_H}::(?:{_H}:){{0,{4 - k}}}{_IPV4}" for k in range(5)),
]) + ")"
_PORT = "(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[1-9][0-9]{0,3}|0)"
# Spaces as Python's ``\\s`` and ECMA-262's both know them, spelt out so both engines agree.
SPACES = "\\x09-\\x0d\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
_REST = f"[^\\x00-\\x1f\\x7f-\\x9f{SPACES}]"
URL_PATTERN = (
    f"^[Hh][Tt][Tt][Pp][Ss]?://(?:(?:{_LABEL}\\.)+{_TLD}|{_IPV4}|\\[{_IPV6}\\]|localhost)"
    f"(?::{_PORT})?(?:[/?#]{_REST}*)?$"
)
_URL = re.compile(URL_PATTERN)


def url_problem(value: str) -> tuple[str, str] | None:
    """``(code, message)`` if ``value`` is not an absolute http(s) URL with a host,
    1–2083 characters, without userinfo; None if it is acceptable."""
    if len(value) > URL_MAX:
        return "url_too_long", f"Must be at most {URL_MAX} characters."
    if not value or _SPACE_OR_CONTROL.search(value):
        return "invalid_url", "Must be an absolute http or https URL without spaces."
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 — raises on a malformed port
    except ValueError:
        return "invalid_url", "Must be an absolute http or https URL."
    scheme = parts.scheme.lower()
    if scheme and scheme not in ("http", "https"):  # javascript:, data:, file:, …
        return "url_scheme_not_allowed", "Only http and https URLs are allowed."
    if not scheme or not parts.netloc:
        return "invalid_url", "Must be an absolute http or https URL with a host."
    if "@" in parts.netloc:
        return "url_userinfo_not_allowed", "URLs may not carry a user name or password."
    if not _URL.match(value):
        return "invalid_url", "Must be an absolute http or https URL with a valid host."
    return None


def is_https(url: str) -> bool:
    """Live-mode keys accept https URLs only (redirects and webhook endpoints alike)."""
    return urlsplit(url).scheme.lower() == "https"


def url_with_session_id(url: str, session_id) -> str:
    """``url`` with every form of the placeholder replaced by the session's id."""
    for placeholder in _SESSION_ID_PLACEHOLDERS:
        url = url.replace(placeholder, str(session_id))
    return url


def ascii_origin(url: str) -> str | None:
    """``scheme://host[:port]`` with an internationalised host in its ASCII (punycode) form,
    as HTTP headers (the CSP, Location) need it; None when the host cannot be encoded."""
    parts = urlsplit(url)
    host = ascii_host(parts.hostname or "")
    if host is None:
        return None
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def ascii_host(host: str) -> str | None:
    if ":" in host:  # an IPv6 literal
        return f"[{host}]"
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def url_ascii_host(url: str) -> str:
    """``url`` with its host punycoded (the rest is left to ``iri_to_uri`` on redirect)."""
    parts = urlsplit(url)
    origin = ascii_origin(url)
    if origin is None or parts.hostname is None or parts.hostname.isascii():
        return url
    return origin + url[len(f"{parts.scheme}://{parts.netloc}"):]
