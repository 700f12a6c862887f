"""The DNS wire format (RFC 1035), just what a cluster DNS server needs.

Messages decode with name compression followed; they encode without compression (answers
are small). Record data is kept as bytes, with helpers for the types we produce.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass, field

# Record types and classes.
A, NS, CNAME, SOA, PTR, TXT, AAAA, SRV, OPT, ANY = 1, 2, 5, 6, 12, 16, 28, 33, 41, 255
IN = 1
# Response codes.
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
# Header flag bits.
QR, AA, TC, RD, RA = 0x8000, 0x0400, 0x0200, 0x0100, 0x0080


class DecodeError(ValueError):
    """The bytes are not a well-formed DNS message."""


@dataclass(frozen=True)
class Question:
    name: str  # lower-case, no trailing dot
    type: int
    cls: int = IN


@dataclass(frozen=True)
class Record:
    name: str
    type: int
    ttl: int
    data: bytes
    cls: int = IN


@dataclass
class Message:
    id: int
    flags: int = 0
    questions: list[Question] = field(default_factory=list)
    answers: list[Record] = field(default_factory=list)
    authority: list[Record] = field(default_factory=list)
    additional: list[Record] = field(default_factory=list)

    @property
    def rcode(self) -> int:
        return self.flags & 0xF

    @property
    def opcode(self) -> int:
        return (self.flags >> 11) & 0xF


def normalize(name: str) -> str:
    return name.lower().rstrip(".")


def encode_name(name: str) -> bytes:
    out = bytearray()
    for label in normalize(name).split(".") if normalize(name) else []:
        raw = label.encode("idna") if not label.isascii() else label.encode()
        if not 0 < len(raw) < 64:
            raise ValueError(f"bad DNS label {label!r}")
        out += bytes([len(raw)]) + raw
    return bytes(out + b"\0")


def _decode_name(data: bytes, offset: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    jumps = 0
    while True:
        if offset >= len(data):
            raise DecodeError("name runs past the end")
        length = data[offset]
        if length & 0xC0 == 0xC0:
            if offset + 1 >= len(data) or jumps > 20:
                raise DecodeError("bad compression pointer")
            if end < 0:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | data[offset + 1]
            jumps += 1
            continue
        if length & 0xC0:
            raise DecodeError("unsupported label type")
        offset += 1
        if length == 0:
            break
        labels.append(data[offset:offset + length].decode("ascii", errors="replace").lower())
        offset += length
    return ".".join(labels), (end if end >= 0 else offset)


def decode_message(data: bytes) -> Message:
    if len(data) < 12:
        raise DecodeError("message shorter than its header")
    ident, flags, qd, an, ns, ar = struct.unpack("!6H", data[:12])
    msg = Message(ident, flags)
    offset = 12
    for _ in range(qd):
        name, offset = _decode_name(data, offset)
        if offset + 4 > len(data):
            raise DecodeError("truncated question")
        qtype, qcls = struct.unpack("!2H", data[offset:offset + 4])
        offset += 4
        msg.questions.append(Question(name, qtype, qcls))
    for section, count in ((msg.answers, an), (msg.authority, ns), (msg.additional, ar)):
        for _ in range(count):
            name, offset = _decode_name(data, offset)
            if offset + 10 > len(data):
                raise DecodeError("truncated record")
            rtype, rcls, ttl, rdlen = struct.unpack("!2HIH", data[offset:offset + 10])
            offset += 10
            if offset + rdlen > len(data):
                raise DecodeError("truncated record data")
            rdata = data[offset:offset + rdlen]
            if rtype in (CNAME, NS, PTR):  # expand compressed names so the data stands alone
                rdata = encode_name(_decode_name(data, offset)[0])
            elif rtype == SRV and rdlen >= 7:
                rdata = rdata[:6] + encode_name(_decode_name(data, offset + 6)[0])
            offset += rdlen
            section.append(Record(name, rtype, ttl, rdata, rcls))
    return msg


def encode_message(msg: Message) -> bytes:
    out = bytearray(struct.pack("!6H", msg.id, msg.flags, len(msg.questions), len(msg.answers),
                                len(msg.authority), len(msg.additional)))
    for q in msg.questions:
        out += encode_name(q.name) + struct.pack("!2H", q.type, q.cls)
    for record in (*msg.answers, *msg.authority, *msg.additional):
        out += encode_name(record.name)
        out += struct.pack("!2HIH", record.type, record.cls, record.ttl, len(record.data)) + record.data
    return bytes(out)


# -- record data ------------------------------------------------------------------------------

def a_data(ip: str) -> bytes:
    return ipaddress.IPv4Address(ip).packed


def srv_data(priority: int, weight: int, port: int, target: str) -> bytes:
    return struct.pack("!3H", priority, weight, port) + encode_name(target)


def soa_data(mname: str, rname: str, serial: int, refresh: int = 7200, retry: int = 1800,
             expire: int = 86400, minimum: int = 30) -> bytes:
    return encode_name(mname) + encode_name(rname) + struct.pack(
        "!5I", serial, refresh, retry, expire, minimum)


def read_a(data: bytes) -> str:
    return str(ipaddress.IPv4Address(data))


def read_name(data: bytes) -> str:
    return _decode_name(data, 0)[0]


def read_srv(data: bytes) -> tuple[int, int, int, str]:
    priority, weight, port = struct.unpack("!3H", data[:6])
    return priority, weight, port, _decode_name(data, 6)[0]


def query(name: str, qtype: int = A, ident: int = 0x1234, recursion: bool = True) -> bytes:
    """A query message (for clients and tests)."""
    return encode_message(Message(ident, RD if recursion else 0, [Question(normalize(name), qtype)]))


def reply_to(request: Message, rcode: int = NOERROR, *, authoritative: bool = False) -> Message:
    """An empty reply to `request`, echoing its id, question and RD bit."""
    flags = QR | RA | (request.flags & RD) | (request.flags & 0x7800) | rcode
    if authoritative:
        flags |= AA
    return Message(request.id, flags, list(request.questions))
