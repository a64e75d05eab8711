"""Trickling peers: every outbound request has a total deadline (connect + headers + body).

A hostile MCP, authorization or JWKS server can answer quickly, then send one byte every half
second. Each read then succeeds well within a per-read timeout, so a timeout that bounds each
read (the old behaviour) holds the caller for as long as the peer keeps trickling. Here the peer
trickles for a minute; with a 2 s timeout every driver (the client flow's sync and async drivers,
and ``mcp_tools._outbound``'s ``run_sync`` / ``run_async`` behind the token verifiers) must give
up with its own clear error within a few seconds, whether the trickle is in the body or in the
headers. The peer is a raw socket server on 127.0.0.1, one thread per connection.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mcp_tools._outbound import OutboundError, OutboundRequest, run_async, run_sync, watched_session
from mcp_tools.client import (
    NetworkError,
    UrlGuard,
    acreate_dynamically_registered_mcp_client,
    create_dynamically_registered_mcp_client,
)
from mcp_tools.server.verifiers.base import TokenVerificationUnavailable
from mcp_tools.server.verifiers.jwt import JWTVerifier
from mcp_tools.stores import MemoryStore
from tests.contract.spec import ISSUER, RESOURCE, mint

TIMEOUT = 2.0
#: Generous for a loaded two-core machine; the trickle lasts far longer (TRICKLE_SECONDS).
BOUND = 8.0
TRICKLE_SECONDS = 60.0
INTERVAL = 0.5

pytestmark = pytest.mark.timeout(45)


@dataclass
class Trickler:
    """``http://127.0.0.1:<port>``: answers every request slowly, one byte per ``INTERVAL``.

    ``mode`` ``"body"``: the status line and headers at once (a large ``Content-Length``), then
    the body a byte at a time; ``"headers"``: the status line and headers a byte at a time.
    """

    mode: str = "body"
    base: str = ""
    tls: ssl.SSLContext | None = None
    connections: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def serve(self, listener: socket.socket) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue  # look at ``stop`` again
            except OSError:
                return
            self.connections += 1
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    def answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                conn.recv(65536)  # the request (its head is enough; the answer never depends on it)
                head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n"
                if self.mode == "body":
                    conn.sendall(head + b"\r\n")
                    slow = b"[" + b" " * 100000
                else:
                    slow = head + b"X-Slow: " + b"a" * 100000
                ends = time.monotonic() + TRICKLE_SECONDS
                for byte in slow:
                    if self.stop.is_set() or time.monotonic() > ends:
                        return
                    conn.sendall(bytes([byte]))
                    time.sleep(INTERVAL)
            except OSError:
                return  # the client gave up: what the test wants


@contextlib.contextmanager
def serving(peer: Trickler) -> Iterator[Trickler]:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.2)
    scheme = "https" if peer.tls is not None else "http"
    peer.base = f"{scheme}://127.0.0.1:{listener.getsockname()[1]}"
    thread = threading.Thread(target=peer.serve, args=(listener,), daemon=True)
    thread.start()
    try:
        yield peer
    finally:
        peer.stop.set()
        listener.close()
        thread.join(timeout=5)


@pytest.fixture(params=["body", "headers"])
def trickler(request: pytest.FixtureRequest) -> Iterator[Trickler]:
    with serving(Trickler(mode=request.param)) as peer:
        yield peer


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, False, False, False), True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "cert.pem", directory / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


GUARD = UrlGuard(allow_loopback=True, timeout=TIMEOUT)


def _client_options(peer: Trickler) -> dict[str, object]:
    return {
        "mcp_endpoint": f"{peer.base}/mcp",
        "oauth_redirect_url": "https://app.example.test/oauth/callback",
        "mcp_client_name": "trickle-test",
        "mcp_client_version": "1",
        "store": MemoryStore(),
        "url_guard": GUARD,
    }


def _assert_prompt(started: float, error: BaseException) -> None:
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"held for {elapsed:.1f} s with a {TIMEOUT} s timeout"
    assert f"{TIMEOUT:g} s" in str(error), str(error)  # the message says which deadline passed


def test_client_connect_sync_has_a_total_deadline(trickler: Trickler) -> None:
    started = time.monotonic()
    with pytest.raises(NetworkError, match="no complete answer") as info:
        create_dynamically_registered_mcp_client(**_client_options(trickler))  # type: ignore[arg-type]
    _assert_prompt(started, info.value)
    assert trickler.connections >= 1


@pytest.mark.anyio
async def test_client_connect_async_has_a_total_deadline(trickler: Trickler) -> None:
    started = time.monotonic()
    with pytest.raises(NetworkError, match="no complete answer") as info:
        await acreate_dynamically_registered_mcp_client(**_client_options(trickler))  # type: ignore[arg-type]
    _assert_prompt(started, info.value)


def test_outbound_run_sync_has_a_total_deadline(trickler: Trickler) -> None:
    def flow():  # type: ignore[no-untyped-def]
        return (yield OutboundRequest("GET", f"{trickler.base}/jwks", timeout=TIMEOUT))

    started = time.monotonic()
    with pytest.raises(OutboundError, match="no complete answer") as info:
        run_sync(flow())
    _assert_prompt(started, info.value)


@pytest.mark.anyio
async def test_outbound_run_async_has_a_total_deadline(trickler: Trickler) -> None:
    def flow():  # type: ignore[no-untyped-def]
        return (yield OutboundRequest("GET", f"{trickler.base}/jwks", timeout=TIMEOUT))

    started = time.monotonic()
    with pytest.raises(OutboundError, match="no complete answer") as info:
        await run_async(flow())
    _assert_prompt(started, info.value)


def _verifier(peer: Trickler) -> JWTVerifier:
    return JWTVerifier(issuer=ISSUER, audience=RESOURCE, jwks_uri=f"{peer.base}/jwks", timeout=TIMEOUT)


def test_jwks_fetch_sync_is_bounded(trickler: Trickler) -> None:
    started = time.monotonic()
    with pytest.raises(TokenVerificationUnavailable) as info:
        _verifier(trickler).verify_token_sync(mint())
    _assert_prompt(started, info.value)


@pytest.mark.anyio
async def test_jwks_fetch_async_is_bounded(trickler: Trickler) -> None:
    started = time.monotonic()
    with pytest.raises(TokenVerificationUnavailable) as info:
        await _verifier(trickler).verify_token(mint())
    _assert_prompt(started, info.value)


@pytest.mark.parametrize("mode", ["body", "headers"])
def test_outbound_run_sync_over_tls_has_a_total_deadline(tmp_path: Path, mode: str) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    session = watched_session()
    session.verify = str(cert)
    session.trust_env = False  # REQUESTS_CA_BUNDLE would override ``verify``

    with serving(Trickler(mode=mode, tls=context)) as peer:

        def flow():  # type: ignore[no-untyped-def]
            return (yield OutboundRequest("GET", f"{peer.base}/jwks", timeout=TIMEOUT))

        started = time.monotonic()
        with pytest.raises(OutboundError, match="no complete answer") as info:
            run_sync(flow(), session=session)
        _assert_prompt(started, info.value)
    session.close()
