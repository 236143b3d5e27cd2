"""
Feetech SCS/STS serial protocol ("protocol 0" in the SDK): packets on bytes.

Both directions use one frame::

    0xFF 0xFF ID LENGTH CODE PARAM... CHECKSUM

LENGTH counts CODE, the parameters and CHECKSUM (so it is ``len(params) + 2``);
CHECKSUM is ``~(ID + LENGTH + CODE + sum(params)) & 0xFF``.  In an instruction
packet CODE is the instruction; in a status packet (servo to host) it is the
error byte (see ``sts3215.ErrorBit``).  Nothing here touches a port: it is pure
byte handling used by the emulator, and usable by a driver or a bus sniffer.

Instruction parameters, as the SDK (``scservo_sdk`` 1.0.0) sends them:

* PING: none.  Reply: empty status.
* READ: address, length.  Reply: status with ``length`` data bytes.
* WRITE / REG_WRITE: address, data....  Reply: empty status.
* ACTION: none (usually broadcast), applies pending REG_WRITEs.
* RESET: none.  Not sent by the Python SDK; Feetech's C++ library has it.
* SYNC_READ (broadcast): address, length, id....  Each listed servo replies
  with its own status packet, in list order.
* SYNC_WRITE (broadcast): address, length, then per servo id + ``length`` bytes.
"""

from dataclasses import dataclass
import enum
import time

HEADER = b'\xff\xff'
BROADCAST_ID = 0xFE
#: Highest servo ID (the SDK's MAX_ID is 252; the manual allows 0-253).
MAX_SERVO_ID = 0xFD
#: Largest LENGTH byte the SDK accepts in a status packet (RXPACKET_MAX_LEN).
MAX_LENGTH = 250
#: Bytes of a packet around its parameters: header (2), ID, LENGTH, CODE, CHECKSUM.
OVERHEAD = 6


class Instruction(enum.IntEnum):
    """Instruction codes."""

    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    RESET = 0x06
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


class ProtocolError(ValueError):
    """A byte string is not a well-formed packet."""


class ChecksumError(ProtocolError):
    """A packet's checksum does not match its contents."""


def checksum(body: bytes) -> int:
    """Return the checksum of ``body`` = ID, LENGTH, CODE and the parameters."""
    return ~sum(body) & 0xFF


@dataclass(frozen=True)
class Packet:
    """One decoded packet; ``code`` is the instruction or, from a servo, the error byte."""

    id: int
    code: int
    params: bytes = b''

    @property
    def instruction(self) -> int:
        """Return the instruction code of a host-to-servo packet."""
        return self.code

    @property
    def error(self) -> int:
        """Return the error byte of a servo-to-host (status) packet."""
        return self.code

    def encode(self) -> bytes:
        """Return the packet's bytes."""
        return encode_packet(self.id, self.code, self.params)


def encode_packet(servo_id: int, code: int, params: bytes = b'', *,
                  corrupt_checksum: bool = False) -> bytes:
    """
    Return the bytes of one packet.

    With ``corrupt_checksum`` the last byte is deliberately wrong (fault injection).
    """
    params = bytes(params)
    length = len(params) + 2
    if not 0 <= servo_id <= 0xFE:
        raise ProtocolError(f'bad id {servo_id}')
    if not 0 <= code <= 0xFF:
        raise ProtocolError(f'bad code {code}')
    if length > 0xFF:
        raise ProtocolError(f'{len(params)} parameter bytes do not fit one packet')
    body = bytes((servo_id, length, code)) + params
    check = checksum(body)
    if corrupt_checksum:
        check ^= 0xA5
    return HEADER + body + bytes((check,))


def instruction_packet(servo_id: int, instruction: int, params: bytes = b'') -> bytes:
    """Return an instruction packet."""
    return encode_packet(servo_id, instruction, params)


def status_packet(servo_id: int, error: int = 0, params: bytes = b'', *,
                  corrupt_checksum: bool = False) -> bytes:
    """Return a status (reply) packet."""
    return encode_packet(servo_id, error, params, corrupt_checksum=corrupt_checksum)


def decode_packet(data: bytes) -> Packet:
    """
    Decode exactly one packet.

    Raises ProtocolError for a bad frame and ChecksumError for a bad checksum.
    """
    data = bytes(data)
    if len(data) < OVERHEAD:
        raise ProtocolError(f'{len(data)} bytes is shorter than any packet')
    if data[:2] != HEADER:
        raise ProtocolError('missing 0xFF 0xFF header')
    length = data[3]
    if length < 2 or len(data) != length + 4:
        raise ProtocolError(f'length byte {length} does not match {len(data)} bytes')
    if checksum(data[2:-1]) != data[-1]:
        raise ChecksumError(f'checksum {data[-1]:#04x}, expected {checksum(data[2:-1]):#04x}')
    return Packet(data[2], data[4], data[5:-1])


# --- instruction builders ---------------------------------------------------------------

def ping(servo_id: int) -> bytes:
    """Return a PING packet."""
    return instruction_packet(servo_id, Instruction.PING)


def read(servo_id: int, address: int, length: int) -> bytes:
    """Return a READ packet."""
    return instruction_packet(servo_id, Instruction.READ, bytes((address, length)))


def write(servo_id: int, address: int, data: bytes) -> bytes:
    """Return a WRITE packet."""
    return instruction_packet(servo_id, Instruction.WRITE, bytes((address,)) + bytes(data))


def reg_write(servo_id: int, address: int, data: bytes) -> bytes:
    """Return a REG_WRITE packet (applied on ACTION)."""
    return instruction_packet(servo_id, Instruction.REG_WRITE, bytes((address,)) + bytes(data))


def action(servo_id: int = BROADCAST_ID) -> bytes:
    """Return an ACTION packet."""
    return instruction_packet(servo_id, Instruction.ACTION)


def reset(servo_id: int) -> bytes:
    """Return a RESET packet."""
    return instruction_packet(servo_id, Instruction.RESET)


def sync_read(address: int, length: int, ids) -> bytes:
    """Return a SYNC_READ packet for ``ids``."""
    return instruction_packet(BROADCAST_ID, Instruction.SYNC_READ,
                              bytes((address, length)) + bytes(ids))


def sync_write(address: int, length: int, data_by_id) -> bytes:
    """Return a SYNC_WRITE packet; ``data_by_id`` maps id to ``length`` bytes."""
    params = bytearray((address, length))
    for servo_id, data in data_by_id.items():
        data = bytes(data)
        if len(data) != length:
            raise ProtocolError(f'id {servo_id}: {len(data)} bytes, expected {length}')
        params.append(servo_id)
        params += data
    return instruction_packet(BROADCAST_ID, Instruction.SYNC_WRITE, bytes(params))


# --- parameter parsers ----------------------------------------------------------------

def parse_read(params: bytes) -> tuple[int, int]:
    """Return (address, length) of READ parameters."""
    if len(params) != 2:
        raise ProtocolError(f'READ takes 2 parameter bytes, got {len(params)}')
    return params[0], params[1]


def parse_write(params: bytes) -> tuple[int, bytes]:
    """Return (address, data) of WRITE or REG_WRITE parameters."""
    if len(params) < 2:
        raise ProtocolError('WRITE needs an address and at least one data byte')
    return params[0], bytes(params[1:])


def parse_sync_read(params: bytes) -> tuple[int, int, list[int]]:
    """Return (address, length, ids) of SYNC_READ parameters."""
    if len(params) < 3:
        raise ProtocolError('SYNC_READ needs an address, a length and at least one id')
    return params[0], params[1], list(params[2:])


def parse_sync_write(params: bytes) -> tuple[int, int, list[tuple[int, bytes]]]:
    """Return (address, length, [(id, data), ...]) of SYNC_WRITE parameters."""
    if len(params) < 2:
        raise ProtocolError('SYNC_WRITE needs an address and a length')
    address, length = params[0], params[1]
    body = params[2:]
    if length == 0 or len(body) % (length + 1):
        raise ProtocolError(f'SYNC_WRITE body of {len(body)} bytes is not a multiple of '
                            f'{length + 1}')
    groups = [(body[i], bytes(body[i + 1:i + 1 + length]))
              for i in range(0, len(body), length + 1)]
    return address, length, groups


class PacketParser:
    """
    Streaming parser: feed it bytes as they arrive, get whole packets out.

    It resynchronises on garbage (bytes before a header are dropped), on a bad
    length byte, and on a bad checksum (only the first header byte is dropped,
    so a real packet hidden behind a false header is still found).  A header
    whose promised length never arrives is dropped after ``stale_after``
    seconds (call ``expire``), so one corrupt length byte cannot stall the
    stream.
    """

    def __init__(self, max_length: int = MAX_LENGTH, stale_after: float = 0.005):
        self.max_length = max_length
        self.stale_after = stale_after
        self._buf = bytearray()
        self._partial_since = None
        #: Packets decoded.
        self.packets = 0
        #: Frames dropped for a checksum mismatch.
        self.bad_checksums = 0
        #: Bytes skipped while looking for a header.
        self.discarded_bytes = 0

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a packet."""
        return len(self._buf)

    def deadline(self) -> float | None:
        """Return when a pending partial packet goes stale, or None."""
        if self._partial_since is None:
            return None
        return self._partial_since + self.stale_after

    def reset(self) -> None:
        """Forget any pending bytes."""
        self.discarded_bytes += len(self._buf)
        self._buf.clear()
        self._partial_since = None

    def feed(self, data: bytes, now: float | None = None) -> list[Packet]:
        """Add received bytes; return the packets completed by them, in order."""
        self._buf += data
        return self._parse(time.monotonic() if now is None else now)

    def expire(self, now: float | None = None) -> list[Packet]:
        """Drop a partial packet that has waited too long; return packets found behind it."""
        now = time.monotonic() if now is None else now
        deadline = self.deadline()
        if deadline is None or now < deadline:
            return []
        del self._buf[0]
        self.discarded_bytes += 1
        self._partial_since = None
        return self._parse(now)

    def _parse(self, now: float) -> list[Packet]:
        buf = self._buf
        out = []
        start = 0
        while True:
            i = buf.find(HEADER, start)
            if i < 0:
                # Keep a trailing 0xFF: it may be the first half of a header.
                keep = 1 if buf and buf[-1] == 0xFF else 0
                self.discarded_bytes += len(buf) - start - keep
                start = len(buf) - keep
                break
            self.discarded_bytes += i - start
            start = i
            if len(buf) - i < 4:
                break
            servo_id, length = buf[i + 2], buf[i + 3]
            if servo_id == 0xFF or length < 2 or length > self.max_length:
                start = i + 1  # a false header (or a run of 0xFF): skip one byte
                self.discarded_bytes += 1
                continue
            total = length + 4
            if len(buf) - i < total:
                break
            end = i + total
            if checksum(buf[i + 2:end - 1]) != buf[end - 1]:
                self.bad_checksums += 1
                self.discarded_bytes += 1
                start = i + 1
                continue
            out.append(Packet(servo_id, buf[i + 4], bytes(buf[i + 5:end - 1])))
            self.packets += 1
            start = end
        if start:
            del buf[:start]
            self._partial_since = None
        if buf:
            if self._partial_since is None:
                self._partial_since = now
        else:
            self._partial_since = None
        return out
