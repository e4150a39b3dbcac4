"""The rules every URL a merchant gives us must follow (redirect URLs, webhook endpoints).

Pure: returns what is wrong (a stable code and a message), so the API serializers and the
services can each raise their own error type from the same rules.
"""

import re
from urllib.parse import quote, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

URL_MAX = 2083
SESSION_ID_PLACEHOLDER = "{CHECKOUT_SESSION_ID}"
# As the merchant wrote it, or percent-encoded by their URL library.
_SESSION_ID_PLACEHOLDERS = (
    SESSION_ID_PLACEHOLDER,
    quote(SESSION_ID_PLACEHOLDER),
    quote(SESSION_ID_PLACEHOLDER).replace("%7B", "%7b").replace("%7D", "%7d"),
)

_url_validator = URLValidator(schemes=["http", "https"])
_SPACE_OR_CONTROL = re.compile(r"[\s\x00-\x1f]")


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
    try:
        # The placeholder is not URL syntax; check the URL it becomes.
        _url_validator(value.replace(SESSION_ID_PLACEHOLDER, "00000000-0000-0000-0000-000000000000"))
    except ValidationError:
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
