"""The setup pieces a fresh machine relies on."""

import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIX_SCRIPT = os.path.join(ROOT, 'scripts', 'fix_ros_wheel_cmake.py')
TARGETS = '''set_target_properties(std_msgs::std_msgs__rosidl_generator_py PROPERTIES
  INTERFACE_INCLUDE_DIRECTORIES "/opt/python/cp311-cp311/include/python3.11;\
/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"
)
'''


def test_wheel_cmake_paths_are_rewritten_to_existing_directories(tmp_path):
    cmake_dir = tmp_path / 'share' / 'std_msgs' / 'cmake'
    cmake_dir.mkdir(parents=True)
    targets = cmake_dir / 'std_msgs__rosidl_generator_pyExport.cmake'
    targets.write_text(TARGETS)
    untouched = cmake_dir / 'other.cmake'
    untouched.write_text('set(X 1)\n')

    run = [sys.executable, FIX_SCRIPT, '--prefix', str(tmp_path)]
    first = subprocess.run(run, capture_output=True, text=True, check=True)
    assert 'rewrote 1 CMake file' in first.stdout
    text = targets.read_text()
    assert '/opt/python' not in text
    include_dirs = text.split('"')[1].split(';')
    assert len(include_dirs) == 2 and all(os.path.isdir(d) for d in include_dirs)
    assert os.path.isfile(os.path.join(include_dirs[0], 'Python.h'))
    assert os.path.isfile(os.path.join(include_dirs[1], 'numpy', 'arrayobject.h'))
    assert untouched.read_text() == 'set(X 1)\n'

    second = subprocess.run(run, capture_output=True, text=True, check=True)
    assert 'rewrote 0 CMake file' in second.stdout  # idempotent


def test_the_installed_wheels_no_longer_name_the_build_machine():
    for directory, _, files in os.walk(os.path.join(sys.prefix, 'share')):
        for name in files:
            if name.endswith('.cmake'):
                with open(os.path.join(directory, name), errors='replace') as stream:
                    assert '/opt/python/cp311-cp311' not in stream.read(), name


def test_custom_interfaces_were_generated_for_python():
    from hilserl_interfaces.msg import EpisodeEvent, PolicyParameters, Transition
    assert EpisodeEvent.INTERVENTION_START == 4
    assert 'blob' in PolicyParameters.get_fields_and_field_types()
    assert Transition.get_fields_and_field_types()['final_observation'] == \
        'sequence<hilserl_interfaces/Observation, 1>'
