"""
A chain of emulated STS3215 servos behind a pseudo-terminal.

``BusEmulator`` opens a pty and answers on it like a USB serial adapter with
servos on its bus: the unmodified Feetech SDK (``scservo_sdk``, or anything
else that speaks the protocol through pyserial) opens the pty's path and
talks to it as to ``/dev/ttyUSB0``.  The pty has no bit rate of its own:
replies are written as soon as they are computed (plus any injected delay),
well within the SDK's time-outs.

Run it as a program (``servo_bus_emulator --help``, :mod:`.emulator_cli`) or
in-process::

    with BusEmulator(ids=range(1, 7)) as bus:      # serves on a thread
        port = scservo_sdk.PortHandler(bus.port)
        ...
        bus.set_fault(3, delay_ms=50)              # fault injection
        bus.move_by_hand(2, 3000)                  # a torque-off joint turned by hand
        bus.servo_value(3, 'Present_Position')     # look inside

The parts: the servos, what they answer and the faults are in
:mod:`.servo_bus` (``ServoBus``, ``FaultConfig``); the pty, the serving loop
and the reply timing in :mod:`.pty_server`.  Closing the emulator closes the
pty master: the client's reads and writes fail with EIO, as with an
unplugged USB adapter (pyserial raises ``SerialException``; the SDK does not
catch it).
"""

from .pty_server import PtyServer, THREAD_SWITCH_INTERVAL
from .servo_bus import FaultConfig, ServoBus  # noqa: F401  (part of this module's API)


class BusEmulator(ServoBus):
    """Servos on a pseudo-terminal; see the module docstring and ServoBus."""

    def __init__(self, ids=range(1, 7), *, model: str = 'sts3215', positions=None,
                 link: str | None = None, lock_policy: str = 'volatile',
                 check_baud: bool = True, voltage: float | None = None,
                 ambient_c: float = 25.0, seed: int | None = 0,
                 switch_interval: float | None = THREAD_SWITCH_INTERVAL):
        """
        Create the servos; the pty opens with ``open()`` or ``start()``.

        ``positions``: one encoder reading for all, a sequence in ``ids``
        order, or a dict by id (default 2048, mid-range).  ``link``: a path
        to keep a symlink to the pty at (replaced if it is a symlink already).
        ``check_baud``: servos ignore a client at another bit rate than theirs.
        ``switch_interval``: see ``PtyServer.start()``; None leaves the
        interpreter's.
        """
        super().__init__(ids, model=model, positions=positions, lock_policy=lock_policy,
                         voltage=voltage, ambient_c=ambient_c, seed=seed)
        self.check_baud = check_baud
        self._server = PtyServer(self._dispatch, link=link, switch_interval=switch_interval,
                                 name='servo-bus-emulator', stats=self.stats,
                                 on_open=self.restart_clock)

    def _dispatch(self, packet, now, client_baud):
        return self.handle(packet, now, client_baud if self.check_baud else None)

    # --- the adapter (see PtyServer) -----------------------------------------------------

    @property
    def link(self) -> str | None:
        """Return the symlink kept to the pty, if any."""
        return self._server.link

    @property
    def port(self) -> str | None:
        """Return the path clients open: the symlink if one was asked for, else the pty."""
        return self._server.port

    @property
    def pty_path(self) -> str | None:
        """Return the pty's own device path (/dev/pts/N) while open."""
        return self._server.pty_path

    @property
    def is_open(self) -> bool:
        """Whether the pty is open (the adapter is plugged in)."""
        return self._server.is_open

    @property
    def running(self) -> bool:
        """Whether a background thread is serving."""
        return self._server.running

    def open(self) -> str:
        """Open the pty (and the link); return the path clients should open."""
        return self._server.open()

    def start(self) -> 'BusEmulator':
        """Open if needed and serve on a daemon thread."""
        self._server.start()
        return self

    def serve_forever(self) -> None:
        """Open if needed and serve in this thread until ``stop()`` (or a signal handler)."""
        self._server.serve_forever()

    def request_stop(self) -> None:
        """Ask the serving loop to end; safe from a signal handler."""
        self._server.request_stop()

    def stop(self) -> None:
        """Stop serving and close the pty: the client sees the adapter unplugged."""
        self._server.stop()

    def close(self) -> None:
        """Close the pty master and the link (an unplugged adapter)."""
        self._server.close()

    def __enter__(self) -> 'BusEmulator':
        """Start serving on a thread."""
        return self.start()

    def __exit__(self, *exc) -> None:
        """Stop and close."""
        self.stop()


def main(argv=None) -> int:
    """Run the emulator program (see :mod:`.emulator_cli`)."""
    from .emulator_cli import main as cli_main
    return cli_main(argv)


if __name__ == '__main__':
    import sys
    sys.exit(main())
