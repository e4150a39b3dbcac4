"""The URL rule is one regular expression the server checks and the schema publishes: whatever
the pattern admits the server accepts (property-tested), and its IPv6 part admits exactly what
Python's ipaddress reads."""

import ipaddress
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkout.urlrules import _IDN, _IPV6, _REST, _SPACE_OR_CONTROL, URL_PATTERN, url_problem

ANY = settings(max_examples=2000, suppress_health_check=list(HealthCheck), deadline=None)


@ANY
@given(st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_published_pattern_admits_is_accepted(url):
    assert url_problem(url) is None, url
    urlsplit(url).port  # noqa: B018 — and the standard library reads it


# Found by the property test above in a fresh clone (U+1680 OGHAM SPACE MARK in the top-level
# domain): kept so it is tried on every run, not only when Hypothesis happens to draw it.
@pytest.mark.parametrize("url", ["HTTP://0.A\u1680", "https://shop\u1680.example/", "https://\u1680a.example/"])
def test_a_unicode_space_in_the_host_is_refused_by_the_pattern_and_the_server(url):
    assert url_problem(url) == ("invalid_url", "Must be an absolute http or https URL without spaces.")
    assert not re.fullmatch(URL_PATTERN, url)


def test_pattern_and_server_agree_on_every_code_point_in_host_and_path():
    """Exhaustive where the property test samples. Before the pattern, the server refuses spaces
    and control characters (``_SPACE_OR_CONTROL``) and whatever ``urlsplit`` cannot read: so no
    character the first refuses may be admitted by the pattern's host or path classes, and every
    character the host class admits must pass ``urlsplit`` (its NFKC check of the host)."""
    host_char = re.compile(f"[A-Za-z0-9{_IDN}]")
    path_char = re.compile(_REST)
    admitted_spaces, refused_hosts = [], []
    for point in range(0x110000):
        if 0xD800 <= point <= 0xDFFF:  # lone surrogates never get this far (the JSON parser refuses them)
            continue
        char = chr(point)
        if _SPACE_OR_CONTROL.match(char) and (host_char.match(char) or path_char.match(char)):
            admitted_spaces.append(hex(point))
        elif host_char.match(char):
            url = f"https://a{char}.example/"
            if not re.fullmatch(URL_PATTERN, url) or url_problem(url) is not None:
                refused_hosts.append(hex(point))
    assert (admitted_spaces, refused_hosts) == ([], [])


@ANY
@given(st.from_regex(f"^{_IPV6}$", fullmatch=True))
def test_every_ipv6_form_the_pattern_admits_is_an_address(text):
    ipaddress.IPv6Address(text)


@ANY
@given(st.integers(min_value=0, max_value=2**128 - 1))
def test_every_ipv6_address_is_admitted_written_either_way(number):
    address = ipaddress.IPv6Address(number)
    for text in (address.compressed, address.exploded):
        assert url_problem(f"https://[{text}]:8443/hooks") is None, text


@pytest.mark.parametrize("url, code", [
    ("https://shop/", "invalid_url"),
    ("https://-shop.example/", "invalid_url"),
    ("https://shop.example:65536/", "invalid_url"),
    ("https://[1:::2]/", "invalid_url"),
    ("https://[1:2:3:4:5:6:7:8:9]/", "invalid_url"),
    ("https://shop.example/a b", "invalid_url"),
    ("https://shop.example/a\x7f", "invalid_url"),
    ("ftp://shop.example/", "url_scheme_not_allowed"),
    ("https://u:p@shop.example/", "url_userinfo_not_allowed"),
])
def test_refused_urls_are_refused_by_the_pattern_too(url, code):
    assert url_problem(url)[0] == code
    assert not re.search(URL_PATTERN, url)
