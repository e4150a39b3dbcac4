"""The URL rule is one regular expression the server checks and the schema publishes: whatever
the pattern admits the server accepts (property-tested), and its IPv6 part admits exactly what
Python's ipaddress reads."""

import ipaddress
import re
from urllib.parse import urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from checkout.urlrules import _IPV6, URL_PATTERN, url_problem

ANY = settings(max_examples=2000, suppress_health_check=list(HealthCheck), deadline=None)


@ANY
@given(st.from_regex(URL_PATTERN, fullmatch=True))
def test_every_url_the_published_pattern_admits_is_accepted(url):
    assert url_problem(url) is None, url
    urlsplit(url).port  # noqa: B018 — and the standard library reads it


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
