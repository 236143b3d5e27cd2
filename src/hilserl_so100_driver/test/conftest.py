"""Fixtures: an emulated bus served on a thread and the real Feetech SDK connected to it."""

import os
import sys

import pytest

# Import the package from this source tree when it is not installed (plain pytest runs).
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from hilserl_so100_driver.bus_emulator import BusEmulator  # noqa: E402

IDS = (1, 2, 3, 4, 5, 6)


class Sdk:
    """The SDK objects a driver holds: port, packet handler, and the bus behind them."""

    def __init__(self, bus):
        import scservo_sdk as scs
        self.scs = scs
        self.bus = bus
        self.port = scs.PortHandler(bus.port)
        assert self.port.openPort(), f'cannot open {bus.port}'
        assert self.port.setBaudRate(1_000_000)
        self.ph = scs.PacketHandler(0)

    def close(self):
        if self.port.is_open:
            try:
                self.port.closePort()
            except Exception:
                pass


@pytest.fixture
def bus():
    """Six STS3215 at 2048, served on a thread."""
    with BusEmulator(IDS) as emulator:
        yield emulator


# The SDK waits 2 * LATENCY_TIMER + 2 ms for an answer: 34 ms with its default of 16.
# The emulator answers from a thread of this process, which a loaded 2-core CI machine
# once left unscheduled that long. Tests about packets wait 100 ms; a test about the
# window itself (a reply that comes too late) asks for the SDK's with ``sdk_timing``.
TEST_LATENCY_TIMER_MS = 49
SDK_LATENCY_TIMER_MS = 16


@pytest.fixture
def patient_replies(monkeypatch):
    """Make the SDK wait 100 ms for an answer (see TEST_LATENCY_TIMER_MS)."""
    scs = pytest.importorskip('scservo_sdk')
    monkeypatch.setattr(scs.port_handler, 'LATENCY_TIMER', TEST_LATENCY_TIMER_MS)


@pytest.fixture
def connect(patient_replies):
    """Return a function that connects the real SDK to a bus; all closed at teardown."""
    handles = []

    def _connect(bus):
        handles.append(Sdk(bus))
        return handles[-1]

    yield _connect
    for handle in handles:
        handle.close()


@pytest.fixture
def sdk_timing(connect, monkeypatch):
    """Give the SDK its own answer window (34 ms) for a test that is about timing."""
    scs = pytest.importorskip('scservo_sdk')
    monkeypatch.setattr(scs.port_handler, 'LATENCY_TIMER', SDK_LATENCY_TIMER_MS)


@pytest.fixture
def sdk(bus, connect):
    """Connect the real SDK to the emulator's pty."""
    return connect(bus)
