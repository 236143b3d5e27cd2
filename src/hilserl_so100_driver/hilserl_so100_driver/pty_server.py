"""
A packet protocol served on a pseudo-terminal, as a USB serial adapter would.

``PtyServer`` opens a pty, parses what the client writes into packets
(:class:`~.protocol.PacketParser`: garbage, split reads and bad checksums
survive), hands each packet to a ``dispatch(packet, now, client_baud)``
callable and writes the replies it returns, each when it is due, in order
(one wire: a late reply holds back the ones after it).  It knows nothing of
servos; :class:`~.bus_emulator.BusEmulator` puts them behind it.

Closing the server closes the pty master: the client's reads and writes fail
with EIO, as with an unplugged USB adapter.
"""

import collections
import errno
import logging
import os
import select
import sys
import termios
import threading
import time
import tty

from . import protocol

logger = logging.getLogger(__name__)

#: Termios speed constant to bits per second, for the baud-rate check.
_SPEEDS = {getattr(termios, f'B{rate}'): rate
           for rate in (9600, 19200, 38400, 57600, 115200, 230400, 460800, 500000, 576000,
                        921600, 1000000, 1152000, 1500000, 2000000)
           if hasattr(termios, f'B{rate}')}
#: Output kept for a client that does not read, before it is dropped.
_MAX_BACKLOG = 1 << 20
#: GIL switch interval while an emulator serves on a thread (see PtyServer.start).
THREAD_SWITCH_INTERVAL = 0.0005


class _SwitchInterval:
    """Process-wide GIL switch interval lowered while any server thread runs."""

    _lock = threading.Lock()
    _users = 0
    _saved = None

    @classmethod
    def acquire(cls, interval: float) -> None:
        with cls._lock:
            if cls._users == 0:
                cls._saved = sys.getswitchinterval()
            cls._users += 1
            sys.setswitchinterval(min(interval, sys.getswitchinterval()))

    @classmethod
    def release(cls) -> None:
        with cls._lock:
            cls._users -= 1
            if cls._users == 0 and cls._saved is not None:
                sys.setswitchinterval(cls._saved)
                cls._saved = None


class _Reply:
    __slots__ = ('due', 'data')

    def __init__(self, due: float, data: bytes):
        self.due = due
        self.data = data


class PtyServer:
    """Serve ``dispatch`` on a pty; see the module docstring."""

    def __init__(self, dispatch, *, link: str | None = None,
                 switch_interval: float | None = THREAD_SWITCH_INTERVAL,
                 name: str = 'servo-bus-emulator', stats=None, on_open=None):
        """
        Prepare the server; the pty opens with ``open()`` or ``start()``.

        ``dispatch(packet, now, client_baud)`` returns ``(due, bytes)`` replies
        (``client_baud``: the bit rate the client set, None when unknown).
        ``link``: a path to keep a symlink to the pty at.  ``stats``: a
        Counter to count bytes in.  ``on_open(now)`` is called on each open.
        """
        self._dispatch = dispatch
        self.link = link
        self.switch_interval = switch_interval
        self.name = name
        self.stats = collections.Counter() if stats is None else stats
        self._on_open = on_open
        self._switch_held = False
        self._parser = protocol.PacketParser()
        self._queue = collections.deque()
        self._backlog = bytearray()
        self._master = self._slave = None
        self._wake_r = self._wake_w = None
        self._port = None
        self._thread = None
        self._stopping = False

    @property
    def port(self) -> str | None:
        """Return the path clients open: the symlink if one was asked for, else the pty."""
        return self.link if (self.link and self._port) else self._port

    @property
    def pty_path(self) -> str | None:
        """Return the pty's own device path (/dev/pts/N) while open."""
        return self._port

    @property
    def is_open(self) -> bool:
        """Whether the pty is open (the adapter is plugged in)."""
        return self._master is not None

    @property
    def running(self) -> bool:
        """Whether a background thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def open(self) -> str:
        """Open the pty (and the link); return the path clients should open."""
        if self._master is not None:
            return self.port
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no CR/LF translation before a client configures it
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._port = os.ttyname(slave)
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._stopping = False
        self._parser.reset()
        self._queue.clear()
        self._backlog.clear()
        if self._on_open is not None:
            self._on_open(time.monotonic())
        if self.link:
            _make_link(self.link, self._port)
        logger.info('%s on %s', self.name, self.port)
        return self.port

    def start(self) -> 'PtyServer':
        """
        Open if needed and serve on a daemon thread.

        The SDK waits for replies by polling the port in a busy loop that holds
        the GIL between polls, and the serving thread needs the GIL several
        times per request; with the default 5 ms switch interval a loaded
        machine can push a reply past the SDK's ~34 ms time-out.  While any
        server thread runs, the process's switch interval is lowered to
        ``switch_interval`` (0.5 ms) and restored after the last one stops.
        """
        if self.running:
            return self
        self.open()
        if self.switch_interval and not self._switch_held:
            _SwitchInterval.acquire(self.switch_interval)
            self._switch_held = True
        self._thread = threading.Thread(target=self._serve, name=self.name,
                                        daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Open if needed and serve in this thread until ``stop()`` (or a signal handler)."""
        self.open()
        self._serve()

    def request_stop(self) -> None:
        """Ask the serving loop to end; safe from a signal handler."""
        self._stopping = True
        if self._wake_w is not None:
            try:
                os.write(self._wake_w, b'x')
            except OSError:
                pass

    def stop(self) -> None:
        """Stop serving and close the pty: the client sees the adapter unplugged."""
        self.request_stop()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)
        self._thread = None
        if self._switch_held:
            _SwitchInterval.release()
            self._switch_held = False
        self.close()

    def close(self) -> None:
        """Close the pty master and the link (an unplugged adapter)."""
        if self._thread is not None and self._thread.is_alive():
            self.stop()
            return
        for name in ('_master', '_slave', '_wake_r', '_wake_w'):
            fd = getattr(self, name)
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
                setattr(self, name, None)
        if self.link and self._port:
            _remove_link(self.link, self._port)
        self._port = None

    def __del__(self):
        """Release the file descriptors of a server that was never closed."""
        try:
            if self._thread is None:
                self.close()
        except Exception:  # interpreter shutdown
            pass

    def client_baud(self) -> int | None:
        """Return the bit rate the client set on the pty, None when unknown."""
        if self._slave is None:
            return None
        try:
            speed = termios.tcgetattr(self._slave)[4]
        except termios.error:
            return None
        return _SPEEDS.get(speed)

    # --- serving --------------------------------------------------------------------------

    def _handle(self, packet: protocol.Packet, now: float) -> None:
        for due, data in self._dispatch(packet, now, self.client_baud()):
            if self._queue:  # one wire: a reply cannot overtake an earlier one
                due = max(due, self._queue[-1].due)
            self._queue.append(_Reply(due, data))

    def _serve(self) -> None:
        master, wake = self._master, self._wake_r
        if master is None:
            raise RuntimeError('open() the server first')
        try:
            while not self._stopping:
                timeout = self._next_timeout()
                wlist = [master] if self._backlog else []
                try:
                    readable, writable, _ = select.select([master, wake], wlist, [], timeout)
                except (OSError, ValueError):  # closed under us
                    break
                if wake in readable:
                    try:
                        os.read(wake, 4096)
                    except OSError:
                        pass
                if self._stopping:
                    break
                now = time.monotonic()
                if master in readable:
                    if not self._receive(master, now):
                        time.sleep(0.005)  # no client: nothing to do but wait
                if self._parser.pending:
                    for packet in self._parser.expire(now):
                        self._handle(packet, now)
                self._send(master, time.monotonic())
        except Exception:  # keep the thread's death visible
            logger.exception('%s failed', self.name)
            raise

    def _next_timeout(self) -> float | None:
        deadlines = []
        if self._queue and not self._backlog:
            deadlines.append(self._queue[0].due)
        stale = self._parser.deadline()
        if stale is not None:
            deadlines.append(stale)
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    def _receive(self, master: int, now: float) -> bool:
        try:
            data = os.read(master, 65536)
        except BlockingIOError:
            return True
        except OSError as exc:
            if exc.errno == errno.EIO:  # every slave fd closed (cannot happen: we hold one)
                return False
            raise
        if not data:
            return False
        self.stats['bytes_in'] += len(data)
        for packet in self._parser.feed(data, now):
            self._handle(packet, now)
        return True

    def _send(self, master: int, now: float) -> None:
        while self._queue and self._queue[0].due <= now:
            self._backlog += self._queue.popleft().data
        if not self._backlog:
            return
        try:
            written = os.write(master, self._backlog)
        except BlockingIOError:
            written = 0
        except OSError as exc:
            logger.warning('pty write failed: %s', exc)
            written = len(self._backlog)
        self.stats['bytes_out'] += written
        del self._backlog[:written]
        if len(self._backlog) > _MAX_BACKLOG:  # nobody is reading: drop, as a full adapter
            self.stats['bytes_dropped'] += len(self._backlog)
            self._backlog.clear()


def _make_link(link: str, target: str) -> None:
    if os.path.lexists(link):
        if not os.path.islink(link):
            raise FileExistsError(f'{link} exists and is not a symlink; not replacing it')
        os.unlink(link)
    os.symlink(target, link)


def _remove_link(link: str, target: str) -> None:
    try:
        if os.path.islink(link) and os.readlink(link) == target:
            os.unlink(link)
    except OSError:
        pass
