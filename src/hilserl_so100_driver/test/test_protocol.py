"""Packet encoding, decoding and the streaming parser, on bytes; checked against the SDK."""

import random

import pytest

from hilserl_so100_driver import protocol
from hilserl_so100_driver.protocol import (BROADCAST_ID, ChecksumError, Instruction, Packet,
                                           PacketParser, ProtocolError)


def test_checksum_of_a_known_packet():
    # READ Present_Position (56, 2 bytes) of servo 1: FF FF 01 04 02 38 02 BE.
    assert protocol.read(1, 56, 2) == bytes.fromhex('ffff01040238 02be'.replace(' ', ''))
    assert protocol.checksum(bytes((1, 4, 2, 56, 2))) == 0xBE


def test_ping_and_status_bytes():
    assert protocol.ping(1) == bytes.fromhex('ffff010201fb')
    assert protocol.status_packet(1, 0) == bytes.fromhex('ffff010200fc')
    assert protocol.status_packet(1, 0x04, b'\x09\x03')[4] == 0x04


def test_decode_round_trip():
    raw = protocol.write(7, 42, b'\x00\x08')
    packet = protocol.decode_packet(raw)
    assert packet == Packet(7, Instruction.WRITE, b'\x2a\x00\x08')
    assert packet.encode() == raw
    assert protocol.parse_write(packet.params) == (42, b'\x00\x08')


def test_decode_rejects_bad_frames():
    good = protocol.ping(3)
    with pytest.raises(ChecksumError):
        protocol.decode_packet(good[:-1] + bytes((good[-1] ^ 1,)))
    with pytest.raises(ProtocolError):
        protocol.decode_packet(b'\xfe' + good[1:])
    with pytest.raises(ProtocolError):
        protocol.decode_packet(good[:-1])
    with pytest.raises(ProtocolError):
        protocol.decode_packet(b'\xff\xff\x01')


def test_corrupted_checksum_is_wrong():
    raw = protocol.status_packet(2, 0, b'\x00\x08', corrupt_checksum=True)
    with pytest.raises(ChecksumError):
        protocol.decode_packet(raw)


def test_sync_builders_and_parsers():
    raw = protocol.sync_read(56, 2, [1, 2, 3])
    packet = protocol.decode_packet(raw)
    assert packet.id == BROADCAST_ID and packet.instruction == Instruction.SYNC_READ
    assert protocol.parse_sync_read(packet.params) == (56, 2, [1, 2, 3])
    raw = protocol.sync_write(42, 2, {1: b'\x00\x08', 2: b'\xff\x0f'})
    packet = protocol.decode_packet(raw)
    assert protocol.parse_sync_write(packet.params) == (
        42, 2, [(1, b'\x00\x08'), (2, b'\xff\x0f')])
    with pytest.raises(ProtocolError):
        protocol.parse_sync_write(bytes((42, 2, 1, 0)))
    with pytest.raises(ProtocolError):
        protocol.sync_write(42, 2, {1: b'\x00'})


class _CapturePort:
    """Enough of the SDK's PortHandler to capture what the SDK writes."""

    def __init__(self):
        self.is_using = False
        self.written = []

    def clearPort(self):  # noqa: N802 -- the SDK's name
        pass

    def writePort(self, packet):  # noqa: N802
        self.written.append(bytes(packet))
        return len(packet)

    def setPacketTimeout(self, length):  # noqa: N802
        pass


def test_builders_match_the_sdk_bytes():
    scs = pytest.importorskip('scservo_sdk')
    ph = scs.PacketHandler(0)
    port = _CapturePort()
    calls = [
        lambda: ph.readTx(port, 3, 56, 2),
        lambda: ph.writeTxOnly(port, 3, 42, 2, [0x00, 0x08]),
        lambda: ph.regWriteTxOnly(port, 3, 42, 2, [0x00, 0x08]),
        lambda: ph.syncReadTx(port, 56, 2, [1, 2, 3], 3),
        lambda: ph.syncWriteTxOnly(port, 42, 2, [1, 0x00, 0x08, 2, 0xFF, 0x0F], 6),
        lambda: ph.action(port, BROADCAST_ID),
    ]
    for call in calls:
        port.is_using = False  # the SDK leaves it set after a transmit that expects a reply
        assert call() == scs.COMM_SUCCESS
    assert port.written == [
        protocol.read(3, 56, 2),
        protocol.write(3, 42, b'\x00\x08'),
        protocol.reg_write(3, 42, b'\x00\x08'),
        protocol.sync_read(56, 2, [1, 2, 3]),
        protocol.sync_write(42, 2, {1: b'\x00\x08', 2: b'\xff\x0f'}),
        protocol.action(BROADCAST_ID),
    ]


def test_parser_whole_packets_and_split_reads():
    stream = protocol.ping(1) + protocol.read(2, 56, 2) + protocol.sync_read(56, 2, [1, 2])
    expected = [protocol.decode_packet(p) for p in (
        protocol.ping(1), protocol.read(2, 56, 2), protocol.sync_read(56, 2, [1, 2]))]
    assert PacketParser().feed(stream) == expected
    # One byte at a time, and every two-way split.
    parser = PacketParser()
    got = []
    for byte in stream:
        got += parser.feed(bytes((byte,)), now=0.0)
    assert got == expected
    for cut in range(len(stream)):
        parser = PacketParser()
        assert parser.feed(stream[:cut], 0.0) + parser.feed(stream[cut:], 0.0) == expected


def test_parser_skips_garbage_and_bad_checksums():
    good = protocol.read(1, 56, 2)
    bad = good[:-1] + bytes((good[-1] ^ 0x55,))
    stream = b'\x00\x13\xfe' + bad + b'\xff' + b'\xff\xff\xff' + good + b'\x42\xff'
    parser = PacketParser()
    assert parser.feed(stream, 0.0) == [protocol.decode_packet(good)]
    assert parser.bad_checksums == 1
    assert parser.discarded_bytes > 0
    # The trailing 0xFF is kept: it is the first half of the next packet's header.
    assert parser.feed(protocol.ping(4)[1:], 0.0) == [protocol.decode_packet(protocol.ping(4))]


def test_parser_bad_length_and_stale_partial():
    parser = PacketParser(stale_after=0.005)
    # A false header promising 200 bytes hides the real packet behind it...
    assert parser.feed(b'\xff\xff\x01\xc8' + protocol.ping(2), now=0.0) == []
    assert parser.deadline() == pytest.approx(0.005)
    assert parser.expire(now=0.001) == []
    # ... until it goes stale.
    assert parser.expire(now=0.01) == [protocol.decode_packet(protocol.ping(2))]
    assert parser.pending == 0
    # A length byte below 2 is never a packet.
    assert parser.feed(b'\xff\xff\x01\x01' + protocol.ping(3), 0.0) == [
        protocol.decode_packet(protocol.ping(3))]


def test_parser_random_garbage_between_packets():
    rng = random.Random(1)
    packets = [protocol.read(rng.randrange(1, 7), 56, 2) for _ in range(200)]
    stream = bytearray()
    for packet in packets:
        # Garbage without 0xFF cannot fake a header.
        stream += bytes(rng.randrange(0, 255) for _ in range(rng.randrange(0, 6)))
        stream += packet
    parser = PacketParser()
    got, i = [], 0
    while i < len(stream):
        n = rng.randrange(1, 20)
        got += parser.feed(bytes(stream[i:i + n]), 0.0)
        i += n
    assert [p.encode() for p in got] == packets
