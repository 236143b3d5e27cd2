"""
The servo bus as the driver sees it, over the Feetech SDK (``scservo_sdk``).

``SdkBus`` offers four calls (sync read, read, write, sync write) that never
raise for a servo that does not answer; they raise :class:`BusError` when the
port itself fails (adapter unplugged, pty closed), after which the bus is
closed and may be opened again.  Anything with the same calls (a recording
wrapper in a test) can stand in for it.
"""

import termios


class BusError(Exception):
    """The port itself failed (adapter unplugged, pty closed); the bus must reopen."""


class SdkBus:
    """
    The bus interface over the Feetech SDK.

    ``sync_read`` returns what arrived (by id) and never raises for a missing
    servo; every method raises BusError when the port fails, after which the
    bus is closed and ``open()`` may be called again.
    """

    def __init__(self, port: str, baud: int = 1_000_000):
        """Remember the port; nothing is opened yet."""
        import scservo_sdk  # a hardware dependency: imported when used
        self._scs = scservo_sdk
        self.port_name = port
        self.baud = int(baud)
        self._port = None
        self._ph = scservo_sdk.PacketHandler(0)

    @property
    def is_open(self) -> bool:
        """Whether the port is open."""
        return self._port is not None

    def open(self) -> None:
        """Open the port at the baud rate; BusError when it cannot."""
        self.close()
        port = self._scs.PortHandler(self.port_name)
        try:
            opened = port.openPort() and port.setBaudRate(self.baud)
        except Exception as error:  # serial.SerialException, OSError, termios.error
            raise BusError(f'cannot open {self.port_name}: {error}') from None
        if not opened:
            raise BusError(f'cannot open {self.port_name} at {self.baud} baud')
        self._port = port

    def close(self) -> None:
        """Close the port, ignoring the errors of one that is already gone."""
        port, self._port = self._port, None
        if port is not None:
            try:
                port.closePort()
            except Exception:
                pass

    def _failed(self, error) -> BusError:
        self.close()
        return BusError(f'{self.port_name}: {error or type(error).__name__}')

    def _flush_input(self) -> None:
        # Late replies stay in the input buffer; clearPort only flushes output.
        self._port.ser.reset_input_buffer()

    def _call(self, function, *args):
        if self._port is None:
            raise BusError(f'{self.port_name} is not open')
        try:
            return function(*args)
        except (OSError, termios.error, ValueError) as error:
            # serial.SerialException is an OSError; ValueError
            # come from pyserial on a port that was closed under it.
            raise self._failed(error) from None
        finally:
            # The SDK leaves the port marked busy when a call raises; free it always.
            if self._port is not None:
                self._port.is_using = False

    def sync_read(self, address: int, length: int, ids) -> dict:
        """Return {id: bytes} for the servos that answered a sync read."""
        def run():
            self._flush_input()
            reader = self._scs.GroupSyncRead(self._port, self._ph, address, length)
            for servo_id in ids:
                reader.addParam(servo_id)
            result = reader.txRxPacket()
            if result != self._scs.COMM_SUCCESS:
                self._flush_input()
            return {servo_id: bytes(reader.data_dict[servo_id]) for servo_id in ids
                    if len(reader.data_dict.get(servo_id) or ()) == length}
        return self._call(run)

    def read(self, servo_id: int, address: int, length: int):
        """Return the bytes read from one servo, or None when it did not answer."""
        def run():
            self._flush_input()
            data, result, _ = self._ph.readTxRx(self._port, servo_id, address, length)
            if result != self._scs.COMM_SUCCESS or len(data) != length:
                self._flush_input()
                return None
            return bytes(data)
        return self._call(run)

    def write(self, servo_id: int, address: int, data: bytes) -> bool:
        """Write one servo; return whether it acknowledged."""
        def run():
            self._flush_input()
            result, _ = self._ph.writeTxRx(self._port, servo_id, address, len(data), list(data))
            if result != self._scs.COMM_SUCCESS:
                self._flush_input()
            return result == self._scs.COMM_SUCCESS
        return self._call(run)

    def sync_write(self, address: int, length: int, data_by_id: dict) -> None:
        """Write several servos in one packet (no replies)."""
        def run():
            writer = self._scs.GroupSyncWrite(self._port, self._ph, address, length)
            for servo_id, data in data_by_id.items():
                writer.addParam(servo_id, list(data))
            result = writer.txPacket()
            if result != self._scs.COMM_SUCCESS:
                raise OSError(f'sync write failed: {self._ph.getTxRxResult(result)}')
        self._call(run)
