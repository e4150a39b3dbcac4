"""Outbound HTTP to merchant-given URLs, to public addresses only.

A webhook URL is chosen by the merchant, so without a guard our workers would POST wherever
it points: the cloud metadata service (169.254.169.254), the database's host, a service on
loopback. Every connection made through ``public_opener()`` resolves the host itself, refuses
if *any* address it resolves to is not globally routable (loopback, private, link-local,
carrier-grade NAT, multicast, reserved, and the IPv6 forms that carry such an IPv4 address:
mapped, 6to4, Teredo, NAT64, IPv4-compatible), and then connects to one
of the addresses it checked, so a DNS answer that changes between the check and the
connection (rebinding) cannot slip through. TLS still verifies the certificate against the
host name.

Proxies from the environment are not used on this path (a proxy would be connected to instead
of the checked address). A deployment whose workers reach the internet only through an
egress proxy that filters on its own sets ``WEBHOOK_ALLOW_PRIVATE_NETWORKS=true``.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import urllib.request


class BlockedDestination(OSError):
    """The URL's host is, or resolves to, an address that is not public."""


# IPv6 forms that carry an IPv4 address a gateway or the host's own stack connects to. Python's
# ``ipaddress`` calls most of them global, so the IPv4 address they carry is checked instead:
# ``http://[64:ff9b::a9fe:a9fe]/`` is the metadata service behind a NAT64 gateway.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: IPv4 in the last 32 bits
# RFC 8215's local-use NAT64 prefix: a network-specific translator, never a public destination
# (and the IPv4 address may sit at any RFC 6052 offset), so refused whole.
_NAT64_LOCAL_USE = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated ::a.b.c.d (RFC 4291 2.5.5.1)
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")  # SIIT ::ffff:0:a.b.c.d (RFC 2765)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64_WELL_KNOWN or ip in _IPV4_COMPATIBLE or ip in _IPV4_TRANSLATED:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # :: and ::1 give 0.0.0.0/0.0.0.1: refused
    return None


def address_is_public(address: str) -> bool:
    """True for a globally routable unicast address (IPv4 or IPv6, as a string). An IPv6
    address that embeds an IPv4 one (mapped, 6to4, Teredo, NAT64, IPv4-compatible, SIIT) is
    judged by the IPv4 address it carries."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _NAT64_LOCAL_USE:
            return False
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            ip = embedded
    return ip.is_global and not ip.is_multicast


def host_is_private_literal(host: str) -> bool:
    """A host that names a non-public destination without any DNS: an IP literal outside the
    public ranges, or ``localhost``. Cheap enough to check when a URL is saved; names that
    resolve to private addresses are caught when connecting."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return not address_is_public(host)


def _connect_public(host: str, port: int, timeout) -> socket.socket:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc.strerror}") from None
    blocked = sorted({info[4][0] for info in infos if not address_is_public(info[4][0])})
    if blocked:
        raise BlockedDestination(f"{host} resolves to a non-public address ({blocked[0]})")
    error: OSError | None = None
    for family, kind, proto, _name, sockaddr in infos:
        sock = socket.socket(family, kind, proto)
        try:
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT:
                sock.settimeout(timeout)
            sock.connect(sockaddr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError(f"no address for {host}")


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self):
        self.sock = _connect_public(self.host, self.port, self.timeout)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def connect(self):
        sock = _connect_public(self.host, self.port, self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req):
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req):
        return self.do_open(_PublicHTTPSConnection, req, context=self._context)


def public_opener(*handlers) -> urllib.request.OpenerDirector:
    """An opener (like ``urllib.request.build_opener(*handlers)``) whose connections go to
    public addresses only, without environment proxies. A refused destination surfaces as
    ``urllib.error.URLError`` whose ``reason`` is a ``BlockedDestination``."""
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _PublicHTTPHandler, _PublicHTTPSHandler, *handlers
    )
