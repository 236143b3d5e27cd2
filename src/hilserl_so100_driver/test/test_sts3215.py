"""The STS3215 control table as data: addresses, sizes, areas and sign encodings."""

import pytest

from hilserl_so100_driver import sts3215
from hilserl_so100_driver.sts3215 import (decode_sign_magnitude, encode_sign_magnitude,
                                          register)

# (name, address, size) from the brief, which quotes LeRobot's table.
EXPECTED = [
    ('Model_Number', 3, 2), ('ID', 5, 1), ('Baud_Rate', 6, 1),
    ('Min_Position_Limit', 9, 2), ('Max_Position_Limit', 11, 2),
    ('P_Coefficient', 21, 1), ('D_Coefficient', 22, 1), ('I_Coefficient', 23, 1),
    ('Homing_Offset', 31, 2), ('Torque_Enable', 40, 1), ('Acceleration', 41, 1),
    ('Goal_Position', 42, 2), ('Goal_Time', 44, 2), ('Goal_Speed', 46, 2), ('Lock', 55, 1),
    ('Present_Position', 56, 2), ('Present_Speed', 58, 2), ('Present_Load', 60, 2),
    ('Present_Voltage', 62, 1), ('Present_Temperature', 63, 1), ('Status', 65, 1),
    ('Moving', 66, 1), ('Present_Current', 69, 2),
]


@pytest.mark.parametrize('name,address,size', EXPECTED)
def test_known_addresses(name, address, size):
    reg = register(name)
    assert (reg.address, reg.size) == (address, size)


def test_registers_do_not_overlap_and_fit_memory():
    owner = {}
    for reg in sts3215.REGISTERS:
        for addr in reg.addresses:
            assert addr not in owner, f'{reg.name} overlaps {owner[addr]}'
            owner[addr] = reg.name
            assert addr < sts3215.MEMORY_SIZE
    assert len(sts3215.BY_NAME) == len(sts3215.REGISTERS)


def test_areas_and_access():
    assert all(reg.eeprom == (reg.address < sts3215.EEPROM_END) for reg in sts3215.REGISTERS)
    assert not register('Model_Number').writable
    assert not register('Present_Position').writable
    assert register('Lock').area == sts3215.RAM
    assert register('Homing_Offset').eeprom and register('Min_Position_Limit').eeprom
    assert register('Model_Number').default == 777


def test_sign_bits():
    assert register('Homing_Offset').sign_bit == 11
    assert register('Present_Speed').sign_bit == 15
    assert register('Goal_Speed').sign_bit == 15
    assert register('Present_Load').sign_bit == 10
    assert encode_sign_magnitude(-100, 11) == 100 | 0x800
    assert decode_sign_magnitude(100 | 0x800, 11) == -100
    assert decode_sign_magnitude(2047, 11) == 2047
    with pytest.raises(ValueError):
        encode_sign_magnitude(2048, 11)


def test_encode_decode_little_endian():
    offset = register('Homing_Offset')
    assert offset.encode(-100) == bytes((100, 0x08))
    assert offset.decode(bytes((100, 0x08))) == -100
    assert register('Goal_Position').encode(4095) == b'\xff\x0f'
    with pytest.raises(ValueError):
        register('ID').encode(256)
    with pytest.raises(ValueError):
        register('ID').decode(b'\x01\x02')


def test_aliases_and_lookup():
    assert register('Goal_Velocity') is register('Goal_Speed')
    assert register('Present_Velocity') is register('Present_Speed')
    assert sts3215.register_at(57) is register('Present_Position')
    assert sts3215.register_at(50) is None
    with pytest.raises(KeyError):
        register('No_Such_Register')


def test_baud_table_and_model():
    assert sts3215.BAUD_RATES[0] == 1_000_000
    assert sts3215.MODELS['sts3215'].model_number == 777
