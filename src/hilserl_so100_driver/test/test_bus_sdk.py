"""
The emulator driven through the real Feetech SDK on its pty, as a driver would.

PortHandler on the pty path at 1 Mbps, PacketHandler(0), GroupSyncRead and
GroupSyncWrite; what the SDK reports for each injected fault.
"""

import os
import termios
import time

import pytest

from hilserl_so100_driver import protocol
from hilserl_so100_driver.bus_emulator import BusEmulator
from hilserl_so100_driver.protocol import PacketParser
from hilserl_so100_driver.sts3215 import register

scs = pytest.importorskip('scservo_sdk')
serial = pytest.importorskip('serial')

ADDR = {name: register(name).address for name in (
    'Model_Number', 'ID', 'Baud_Rate', 'Response_Status_Level', 'Min_Position_Limit',
    'Max_Temperature_Limit', 'Homing_Offset', 'Torque_Enable', 'Acceleration',
    'Goal_Position', 'Goal_Speed', 'Lock', 'Present_Position', 'Present_Temperature',
    'P_Coefficient')}
IDS = (1, 2, 3, 4, 5, 6)


def ok(result_and_error):
    """Assert an SDK (result, error) pair is a clean success."""
    result, error = result_and_error
    assert result == scs.COMM_SUCCESS, scs.PacketHandler(0).getTxRxResult(result)
    assert error == 0


def read2(sdk, servo_id, name):
    value, result, error = sdk.ph.read2ByteTxRx(sdk.port, servo_id, ADDR[name])
    assert result == scs.COMM_SUCCESS and error == 0, (result, error)
    return value


def sync_reader(sdk, ids=IDS):
    reader = scs.GroupSyncRead(sdk.port, sdk.ph, ADDR['Present_Position'], 2)
    for servo_id in ids:
        assert reader.addParam(servo_id)
    return reader


def test_ping_reports_model_number(sdk):
    for servo_id in IDS:
        assert sdk.ph.ping(sdk.port, servo_id) == (777, scs.COMM_SUCCESS, 0)
    model, result, _ = sdk.ph.ping(sdk.port, 9)
    assert (model, result) == (0, scs.COMM_RX_TIMEOUT)


def test_read_write_round_trip(sdk):
    ok(sdk.ph.write2ByteTxRx(sdk.port, 2, ADDR['Goal_Speed'], 1234))
    assert read2(sdk, 2, 'Goal_Speed') == 1234
    ok(sdk.ph.write1ByteTxRx(sdk.port, 2, ADDR['Acceleration'], 50))
    value, result, error = sdk.ph.read1ByteTxRx(sdk.port, 2, ADDR['Acceleration'])
    assert (value, result, error) == (50, scs.COMM_SUCCESS, 0)
    # A read across several registers: Present_Position .. Present_Temperature.
    data, result, error = sdk.ph.readTxRx(sdk.port, 2, ADDR['Present_Position'], 8)
    assert result == scs.COMM_SUCCESS and len(data) == 8
    assert scs.SCS_MAKEWORD(data[0], data[1]) == 2048
    assert data[6] == 74 and data[7] == 25  # 7.4 V, 25 degC
    # Read-only registers ignore writes.
    ok(sdk.ph.write2ByteTxRx(sdk.port, 2, ADDR['Model_Number'], 1))
    assert read2(sdk, 2, 'Model_Number') == 777


def test_sync_read_of_six_servos(connect):
    positions = [1000, 1500, 2000, 2500, 3000, 3500]
    with BusEmulator(IDS, positions=positions) as bus:
        reader = sync_reader(connect(bus))
        for _ in range(20):
            assert reader.txRxPacket() == scs.COMM_SUCCESS
            got = [reader.getData(i, ADDR['Present_Position'], 2) for i in IDS]
            assert got == positions


def test_sync_write_then_bounded_speed_motion(sdk, bus):
    speed = 1000  # step/s
    for servo_id in IDS:
        ok(sdk.ph.write2ByteTxRx(sdk.port, servo_id, ADDR['Goal_Speed'], speed))
        ok(sdk.ph.write1ByteTxRx(sdk.port, servo_id, ADDR['Torque_Enable'], 1))
    writer = scs.GroupSyncWrite(sdk.port, sdk.ph, ADDR['Goal_Position'], 2)
    for servo_id in IDS:
        assert writer.addParam(servo_id, list(register('Goal_Position').encode(2548)))
    reader = sync_reader(sdk)
    before = time.monotonic()
    assert writer.txPacket() == scs.COMM_SUCCESS
    after = time.monotonic()
    samples = []
    while True:
        t0 = time.monotonic()
        assert reader.txRxPacket() == scs.COMM_SUCCESS
        t1 = time.monotonic()
        moved = [reader.getData(i, ADDR['Present_Position'], 2) - 2048 for i in IDS]
        samples.append(moved)
        # Never faster than Goal_Speed (one step of rounding); not much slower either
        # (the emulator thread may take the write a few ms late on a busy machine).
        for m in moved:
            assert m <= speed * (t1 - before) + 1, (moved, t1 - before)
            assert m >= min(500, speed * (t0 - after - 0.05)), (moved, t0 - after)
        if all(m == 500 for m in moved) or t1 - before > 2.0:
            break
        time.sleep(0.02)
    assert samples[-1] == [500] * 6
    assert len(samples) > 5  # it took time: ~0.5 s at 1000 step/s
    assert bus.servo_value(1, 'Moving') == 0


def test_eeprom_lock_volatile(sdk, bus):
    """The Feetech manual: while Lock=1 an EEPROM write acts but is not saved."""
    ok(sdk.ph.write2ByteTxRx(sdk.port, 1, ADDR['Min_Position_Limit'], 100))
    assert read2(sdk, 1, 'Min_Position_Limit') == 100
    bus.power_cycle(1)
    assert read2(sdk, 1, 'Min_Position_Limit') == 0  # lost: it was locked
    ok(sdk.ph.write1ByteTxRx(sdk.port, 1, ADDR['Lock'], 0))
    ok(sdk.ph.write2ByteTxRx(sdk.port, 1, ADDR['Min_Position_Limit'], 100))
    ok(sdk.ph.write1ByteTxRx(sdk.port, 1, ADDR['Lock'], 1))
    bus.power_cycle(1)
    assert read2(sdk, 1, 'Min_Position_Limit') == 100  # saved


def test_eeprom_lock_refuse_policy(connect):
    with BusEmulator(IDS, lock_policy='refuse') as bus:
        sdk = connect(bus)
        ok(sdk.ph.write2ByteTxRx(sdk.port, 1, ADDR['Min_Position_Limit'], 100))
        assert read2(sdk, 1, 'Min_Position_Limit') == 0  # ignored while locked
        ok(sdk.ph.write1ByteTxRx(sdk.port, 1, ADDR['Lock'], 0))
        ok(sdk.ph.write2ByteTxRx(sdk.port, 1, ADDR['Min_Position_Limit'], 100))
        assert read2(sdk, 1, 'Min_Position_Limit') == 100


def test_homing_offset_sign_bit(sdk):
    ok(sdk.ph.write1ByteTxRx(sdk.port, 3, ADDR['Lock'], 0))
    assert read2(sdk, 3, 'Present_Position') == 2048
    ok(sdk.ph.write2ByteTxRx(sdk.port, 3, ADDR['Homing_Offset'], scs.SCS_TOSCS(-100, 11)))
    assert read2(sdk, 3, 'Homing_Offset') == 100 | (1 << 11)
    assert read2(sdk, 3, 'Present_Position') == 2148
    ok(sdk.ph.write2ByteTxRx(sdk.port, 3, ADDR['Homing_Offset'], 300))
    assert read2(sdk, 3, 'Present_Position') == 1748


def test_reg_write_action_and_broadcast_write(sdk, bus):
    ok(sdk.ph.write1ByteTxRx(sdk.port, scs.BROADCAST_ID, ADDR['Torque_Enable'], 1))
    assert sdk.ph.ping(sdk.port, 1)[1] == scs.COMM_SUCCESS  # broadcasts get no reply: barrier
    assert all(bus.servo_value(i, 'Torque_Enable') == 1 for i in IDS)
    ok(sdk.ph.regWriteTxRx(sdk.port, 4, ADDR['Goal_Position'], 2, [0xE8, 0x03]))  # 1000
    assert bus.servo_value(4, 'Goal_Position') == 2048
    assert sdk.ph.action(sdk.port, scs.BROADCAST_ID) == scs.COMM_SUCCESS
    assert sdk.ph.ping(sdk.port, 4)[1] == scs.COMM_SUCCESS  # barrier
    assert bus.servo_value(4, 'Goal_Position') == 1000


def test_id_change_and_response_level(sdk):
    ok(sdk.ph.write1ByteTxRx(sdk.port, 6, ADDR['Lock'], 0))
    ok(sdk.ph.write1ByteTxRx(sdk.port, 6, ADDR['ID'], 10))  # answered from the old id
    assert sdk.ph.ping(sdk.port, 10)[1] == scs.COMM_SUCCESS
    assert sdk.ph.ping(sdk.port, 6)[1] == scs.COMM_RX_TIMEOUT
    # The new level already applies to the write that sets it (UNCERTAIN on hardware).
    result, _ = sdk.ph.write1ByteTxRx(sdk.port, 10, ADDR['Response_Status_Level'], 0)
    assert result == scs.COMM_RX_TIMEOUT
    # Level 0: writes are applied without a reply; reads still answer.
    result, _ = sdk.ph.write1ByteTxRx(sdk.port, 10, ADDR['Acceleration'], 9)
    assert result == scs.COMM_RX_TIMEOUT
    assert sdk.ph.read1ByteTxRx(sdk.port, 10, ADDR['Acceleration']) == (9, scs.COMM_SUCCESS, 0)


def test_servo_only_answers_at_its_baud_rate(sdk, bus):
    ok(sdk.ph.write1ByteTxRx(sdk.port, 2, ADDR['Lock'], 0))
    ok(sdk.ph.write1ByteTxRx(sdk.port, 2, ADDR['Baud_Rate'], 4))  # 115200, answered at 1M
    assert sdk.ph.ping(sdk.port, 2)[1] == scs.COMM_RX_TIMEOUT
    assert sdk.port.setBaudRate(115200)
    assert sdk.ph.ping(sdk.port, 2) == (777, scs.COMM_SUCCESS, 0)
    assert sdk.ph.ping(sdk.port, 1)[1] == scs.COMM_RX_TIMEOUT


def test_garbage_and_bad_requests_on_the_wire(sdk, bus):
    sdk.port.ser.write(b'\x00\x13\xff\x42\xff\xff\xff')
    assert sdk.ph.ping(sdk.port, 1) == (777, scs.COMM_SUCCESS, 0)
    # A request with a broken checksum gets no answer; the next one does.
    bad = bytearray(b'\xff\xff\x01\x04\x02\x38\x02\x00')
    sdk.port.ser.write(bytes(bad))
    time.sleep(0.02)
    assert sdk.port.ser.in_waiting == 0
    assert read2(sdk, 1, 'Present_Position') == 2048
    assert bus.stats['malformed_requests'] == 0


# --- faults ------------------------------------------------------------------------------

def test_fault_no_reply_times_out_but_executes(sdk, bus):
    bus.set_fault(2, no_reply=True)
    assert sdk.ph.ping(sdk.port, 2)[1] == scs.COMM_RX_TIMEOUT
    result, _ = sdk.ph.write1ByteTxRx(sdk.port, 2, ADDR['Acceleration'], 7)
    assert result == scs.COMM_RX_TIMEOUT
    assert bus.servo_value(2, 'Acceleration') == 7
    bus.clear_faults(2)
    assert sdk.ph.ping(sdk.port, 2)[1] == scs.COMM_SUCCESS


def test_fault_slightly_late_reply_is_taken(sdk, bus):
    bus.set_fault(3, delay_ms=5)
    assert sdk.ph.ping(sdk.port, 3) == (777, scs.COMM_SUCCESS, 0)


def test_fault_late_reply(sdk, bus, sdk_timing):
    bus.set_fault(3, delay_ms=80)  # beyond the SDK's 34 ms time-out
    start = time.monotonic()
    _, result, _ = sdk.ph.read2ByteTxRx(sdk.port, 3, ADDR['Present_Position'])
    assert result == scs.COMM_RX_TIMEOUT
    assert time.monotonic() - start < 0.08
    # The late reply still arrives afterwards, as on a real bus.
    time.sleep(0.12)
    assert sdk.port.ser.in_waiting == 8
    sdk.port.ser.reset_input_buffer()


def test_fault_corrupt_checksum(sdk, bus):
    bus.set_fault(4, corrupt=True)
    _, result, _ = sdk.ph.read2ByteTxRx(sdk.port, 4, ADDR['Present_Position'])
    assert result == scs.COMM_RX_CORRUPT
    assert sdk.ph.ping(sdk.port, 4)[1] == scs.COMM_RX_CORRUPT
    bus.set_fault(4, corrupt=0.0)
    assert read2(sdk, 4, 'Present_Position') == 2048


def test_fault_vanish_and_come_back(sdk, bus):
    reader = sync_reader(sdk)
    bus.vanish(3)
    assert sdk.ph.ping(sdk.port, 3)[1] == scs.COMM_RX_TIMEOUT
    assert reader.txRxPacket() == scs.COMM_RX_TIMEOUT  # the SDK stops at the missing servo
    assert reader.getData(2, ADDR['Present_Position'], 2) == 2048
    # A vanished servo does not hear writes either.
    ok(sdk.ph.write1ByteTxRx(sdk.port, scs.BROADCAST_ID, ADDR['Acceleration'], 3))
    assert sdk.ph.ping(sdk.port, 2)[1] == scs.COMM_SUCCESS  # barrier
    assert bus.servo_value(2, 'Acceleration') == 3
    assert bus.servo_value(3, 'Acceleration') == 0
    time.sleep(0.05)
    sdk.port.ser.reset_input_buffer()
    bus.reappear(3)
    assert reader.txRxPacket() == scs.COMM_SUCCESS
    assert sdk.ph.ping(sdk.port, 3) == (777, scs.COMM_SUCCESS, 0)


def test_fault_scheduled_vanish(sdk, bus):
    bus.schedule_vanish(5, after_s=0.0, duration_s=0.3)
    assert sdk.ph.ping(sdk.port, 5)[1] == scs.COMM_RX_TIMEOUT
    time.sleep(0.35)
    assert sdk.ph.ping(sdk.port, 5) == (777, scs.COMM_SUCCESS, 0)


def test_fault_overheat_sets_error_bit(sdk, bus):
    ok(sdk.ph.write1ByteTxRx(sdk.port, 6, ADDR['Torque_Enable'], 1))
    bus.set_fault(6, overheat=True)
    model, result, error = sdk.ph.ping(sdk.port, 6)
    assert result == scs.COMM_SUCCESS and model == 777
    assert error & scs.ERRBIT_OVERHEAT
    assert sdk.ph.getRxPacketError(error) == '[RxPacketError] Overheat error!'
    temperature, result, error = sdk.ph.read1ByteTxRx(sdk.port, 6, ADDR['Present_Temperature'])
    limit, _, _ = sdk.ph.read1ByteTxRx(sdk.port, 6, ADDR['Max_Temperature_Limit'])
    assert temperature > limit and error & scs.ERRBIT_OVERHEAT
    # The protection released the torque; other servos are fine.
    assert sdk.ph.read1ByteTxRx(sdk.port, 6, ADDR['Torque_Enable'])[0] == 0
    assert sdk.ph.ping(sdk.port, 5) == (777, scs.COMM_SUCCESS, 0)
    bus.set_fault(6, overheat=False)
    assert sdk.ph.ping(sdk.port, 6) == (777, scs.COMM_SUCCESS, 0)


def test_closing_the_emulator_unplugs_the_adapter(sdk, bus):
    assert sdk.ph.ping(sdk.port, 1)[1] == scs.COMM_SUCCESS
    bus.stop()
    assert not bus.is_open
    start = time.monotonic()
    # Like a pulled USB adapter: the tty fails with EIO.  The SDK does not catch it:
    # clearPort's tcdrain raises termios.error, a read raises SerialException.
    with pytest.raises((termios.error, serial.SerialException, OSError)):
        sdk.ph.ping(sdk.port, 1)
    sdk.port.is_using = False  # the SDK leaves the port marked busy after the exception
    with pytest.raises(serial.SerialException):
        sdk.port.readPort(6)
    with pytest.raises(serial.SerialException):
        sdk.port.writePort(b'\xff\xff\x01\x02\x01\xfb')
    assert time.monotonic() - start < 1.0


def test_unplugged_while_waiting_for_a_reply(sdk, bus):
    bus.set_fault(1, delay_ms=1000)
    assert sdk.ph.readTx(sdk.port, 1, ADDR['Present_Position'], 2) == scs.COMM_SUCCESS
    bus.stop()
    with pytest.raises(serial.SerialException):
        sdk.ph.readRx(sdk.port, 1, 2)


def test_replugged_adapter_on_a_stable_link(tmp_path, connect):
    link = str(tmp_path / 'ttySO100')
    bus = BusEmulator(IDS, link=link)
    with bus:
        sdk = connect(bus)
        assert bus.port == link
        ok(sdk.ph.write1ByteTxRx(sdk.port, 1, ADDR['Acceleration'], 12))
    assert not os.path.lexists(link)
    with bus:  # plugged in again: a new pty behind the same link, servos kept their state
        assert os.path.realpath(link) == bus.pty_path  # may reuse the pts number
        sdk = connect(bus)
        assert sdk.ph.read1ByteTxRx(sdk.port, 1, ADDR['Acceleration']) == (12, 0, 0)


# --- instructions the SDK has no helper for -----------------------------------------------

def read_packets(port, count, timeout=0.3):
    """Read status packets from the port with the emulator's own parser."""
    parser = PacketParser()
    packets, deadline = [], time.monotonic() + timeout
    while len(packets) < count and time.monotonic() < deadline:
        packets += parser.feed(port.readPort(64))
        time.sleep(0.001)
    return packets


def test_broadcast_ping_answered_by_every_servo(sdk):
    # LeRobot's broadcast_ping does this: every servo answers, in ID order.
    assert sdk.ph.txPacket(sdk.port, list(protocol.ping(scs.BROADCAST_ID))) == scs.COMM_SUCCESS
    sdk.port.is_using = False
    packets = read_packets(sdk.port, len(IDS))
    assert [p.id for p in packets] == list(IDS)
    assert all(p.error == 0 and p.params == b'' for p in packets)


def test_reset_instruction(sdk, bus):
    ok(sdk.ph.write1ByteTxRx(sdk.port, 2, ADDR['Lock'], 0))
    ok(sdk.ph.write2ByteTxRx(sdk.port, 2, ADDR['Min_Position_Limit'], 321))
    _, result, error = sdk.ph.txRxPacket(sdk.port, list(protocol.reset(2)))
    assert (result, error) == (scs.COMM_SUCCESS, 0)
    assert read2(sdk, 2, 'Min_Position_Limit') == 0
    assert sdk.ph.ping(sdk.port, 2)[1] == scs.COMM_SUCCESS  # ID kept
