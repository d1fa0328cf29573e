"""MongoDB's wire protocol by hand, for what a driver that falls back
cannot tell: whether the port completes a TLS handshake, and whether it
answers one OP_MSG `isMaster` in the clear (read with a byte cap and a
deadline, as any MongoDB client's first message is).
"""

from __future__ import annotations

import socket
import ssl
import struct
import time
from collections.abc import Mapping
from enum import Enum
from typing import Any

import bson
from bson.errors import BSONError

from scanner.probes.clients.wire import handshake, receive_exactly, unverified_tls
from scanner.probes.context import ProbeContext
from scanner.probes.datastores.report import Tristate
from scanner.probes.datastores.transport import Transport
from scanner.probes.evidence import printable

_OP_MSG = 2013
_HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode

Document = Mapping[str, Any]


def reply_said(reply: Document) -> str:
    """A command's error reply, one bounded line: `Unauthorized (13): ...`."""
    name = reply.get("codeName") or "error"
    return printable(f"{name} ({reply.get('code', '?')}): {reply.get('errmsg', '')}")


def tls_handshake(address: str, port: int, timeout: float) -> tuple[Tristate, str]:
    """Whether the port completes a TLS handshake (the certificate is not judged here)."""
    try:
        version = handshake(address, port, timeout, unverified_tls())
    except ssl.SSLError as exc:
        return Tristate.NO, f"no TLS handshake ({printable(exc.reason or type(exc).__name__)})"
    except (ConnectionResetError, BrokenPipeError):
        return Tristate.NO, "no TLS handshake (the server hung up on the ClientHello)"
    except TimeoutError:
        return Tristate.UNKNOWN, f"no answer to a TLS ClientHello within {timeout:g} s"
    except OSError as exc:
        return Tristate.UNKNOWN, f"TLS handshake: {printable(exc.strerror or type(exc).__name__)}"
    return Tristate.YES, f"TLS handshake completed ({version})"


class Plaintext(Enum):
    ANSWERED = "answered"
    HUNG_UP = "hung-up"  # connected, then closed: TLS-only servers do this
    FAILED = "failed"  # refused, timed out, or not MongoDB's protocol


class _NotMongo(Exception):
    """Bytes that are not a MongoDB reply."""


def op_msg(document: Document, request_id: int = 1) -> bytes:
    """One OP_MSG with a single kind-0 section (the MongoDB wire protocol)."""
    body = struct.pack("<I", 0) + b"\x00" + bson.encode(document)
    return _HEADER.pack(_HEADER.size + len(body), request_id, 0, _OP_MSG) + body


def _read_reply(conn: socket.socket, max_bytes: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + 2 * timeout
    header = conn.recv(_HEADER.size)
    if not header:
        raise ConnectionResetError("closed without a reply")
    header += receive_exactly(conn, _HEADER.size - len(header), deadline)
    length, _, _, opcode = _HEADER.unpack(header)
    if opcode != _OP_MSG or not _HEADER.size + 5 < length <= max_bytes:
        raise _NotMongo(
            f"not a MongoDB message (opCode {opcode}, length {length}, cap {max_bytes})"
        )
    payload = receive_exactly(conn, length - _HEADER.size, deadline)
    if payload[4] != 0:
        raise _NotMongo("the reply's first section is not a document")
    try:
        return bson.decode(payload[5 : 5 + int.from_bytes(payload[5:9], "little")])
    except (BSONError, IndexError, RecursionError) as exc:
        raise _NotMongo(f"the reply is not BSON ({type(exc).__name__})") from None


def plaintext_hello(address: str, port: int, ctx: ProbeContext) -> tuple[Plaintext, str]:
    """Send `isMaster` in the clear, as any MongoDB client's first message does."""
    try:
        with socket.create_connection((address, port), timeout=ctx.timeout) as conn:
            conn.sendall(op_msg({"isMaster": 1, "$db": "admin"}))
            reply = _read_reply(conn, ctx.max_bytes, ctx.timeout)
    except (ConnectionResetError, BrokenPipeError):
        return Plaintext.HUNG_UP, "a plaintext isMaster got no reply (the server hung up)"
    except TimeoutError:
        return Plaintext.FAILED, f"no reply to a plaintext isMaster within {ctx.timeout:g} s"
    except OSError as exc:
        return Plaintext.FAILED, f"plaintext isMaster: {printable(exc.strerror or str(exc))}"
    except _NotMongo as exc:
        return Plaintext.FAILED, f"a plaintext isMaster got an answer, but {exc}"
    if reply.get("ok") != 1:
        return Plaintext.FAILED, f"plaintext isMaster failed: {reply_said(reply)}"
    return Plaintext.ANSWERED, "plaintext isMaster answered"


def _plaintext(tls: Tristate, plain: Plaintext) -> Tristate:
    if plain is Plaintext.ANSWERED:
        return Tristate.YES
    if plain is Plaintext.HUNG_UP and tls is Tristate.YES:
        return Tristate.NO  # net.tls.mode requireTLS
    return Tristate.UNKNOWN


def transport(address: str, port: int, ctx: ProbeContext) -> Transport:
    """What the port speaks: a TLS handshake, then `isMaster` in the clear."""
    tls, tls_said = tls_handshake(address, port, ctx.timeout)
    plain, plain_said = plaintext_hello(address, port, ctx)
    return Transport(tls, _plaintext(tls, plain), f"{tls_said}; {plain_said}", plain_said)
