"""The sync's transport over TLS, as it talks to graph.microsoft.com in production (the emulator is plain http):
a local HTTPS server with a certificate made here, requests in sequence and at once, a body far larger than the
socket buffers, connections reused, and an untrusted certificate refused."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from graph_sync.transport import PooledTransport

BODY = bytes(range(256)) * 8192  # 2 MiB: many TLS records and reads, reading paused and resumed


def _certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


async def _serve(server_ctx: ssl.SSLContext, connections: list[int]) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                path = head.split(b" ", 2)[1]
                body = BODY if path == b"/big" else b'{"value": []}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)


def test_requests_over_tls_are_answered_in_full_on_reused_connections(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    client_ctx = ssl.create_default_context(cafile=str(cert))
    connections: list[int] = []

    async def run() -> None:
        server = await _serve(server_ctx, connections)
        port = server.sockets[0].getsockname()[1]
        base = f"https://localhost:{port}"
        transport = PooledTransport(httpx.Limits(max_connections=4, max_keepalive_connections=4), client_ctx)
        async with httpx.AsyncClient(transport=transport) as client:
            for _ in range(3):  # in sequence: one connection, kept alive
                response = await client.get(f"{base}/small")
                assert response.status_code == 200 and response.json() == {"value": []}
            assert len(connections) == 1
            big = await client.get(f"{base}/big")
            assert big.content == BODY
            answers = await asyncio.gather(*(client.get(f"{base}/big") for _ in range(4)))
            assert all(a.content == BODY for a in answers)
            assert len(connections) <= 4
        server.close()
        await server.wait_closed()

    asyncio.run(run())


def test_a_certificate_the_context_does_not_trust_is_refused(tmp_path: Path) -> None:
    cert, key = _certificate(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def run() -> None:
        server = await _serve(server_ctx, [])
        port = server.sockets[0].getsockname()[1]
        transport = PooledTransport(httpx.Limits(max_connections=2, max_keepalive_connections=2),
                                    ssl.create_default_context())  # the system's roots: not our certificate
        async with httpx.AsyncClient(transport=transport) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(f"https://localhost:{port}/small")
        server.close()
        await server.wait_closed()

    asyncio.run(run())
