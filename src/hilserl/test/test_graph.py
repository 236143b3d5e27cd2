"""Mode descriptions: arguments, defaults, errors; the same graph for launch and runner."""

import pytest

from hilserl.graph import (GraphError, LaunchArgument, Mode, NodeSpec, argument_as_float,
                           parse_assignments)
from hilserl.modes import MODES


def test_parse_assignments_as_ros2_launch_does():
    assert parse_assignments(['a:=1', 'b:=x:=y', 'c:=']) == {'a': '1', 'b': 'x:=y', 'c': ''}
    with pytest.raises(GraphError, match="expected name:=value, got 'a=1'"):
        parse_assignments(['a=1'])


def test_arguments_default_and_unknown_ones_are_refused():
    mode = Mode('m', 'test', (LaunchArgument('speed', '1', 'how fast', ('1', '2')),),
                lambda args: [NodeSpec('exe', args['speed'])])
    assert mode.nodes({})[0].name == '1'
    assert mode.nodes({'speed': '2'})[0].name == '2'
    with pytest.raises(GraphError, match='has no argument colour; it takes: speed'):
        mode.nodes({'colour': 'red'})
    with pytest.raises(GraphError, match='speed:=3 is not one of 1, 2'):
        mode.nodes({'speed': '3'})


def test_numeric_arguments_give_a_clear_error():
    assert argument_as_float({'d': '2.5'}, 'd') == 2.5
    with pytest.raises(GraphError, match='d:=soon is not a number'):
        argument_as_float({'d': 'soon'}, 'd')


def test_full_names_include_the_namespace():
    assert NodeSpec('x', 'camera', namespace='front').full_name == '/front/camera'
    assert NodeSpec('x', 'camera', namespace='/a/b/').full_name == '/a/b/camera'
    assert NodeSpec('x', 'image_processor').full_name == '/image_processor'


def test_demo_mode_graph():
    nodes = MODES['demo'].nodes({'duration': '3'})
    names = [spec.full_name for spec in nodes]
    assert names == ['/front/camera', '/wrist/camera', '/image_processor', '/image_monitor']
    monitor = nodes[-1]
    assert monitor.required and monitor.parameters['exit_after_s'] == 3.0
    assert all(spec.parameter_files for spec in nodes)


def test_sim_mode_swaps_arms_by_parameter_file_and_adds_optional_rviz():
    so101 = MODES['sim'].nodes({'robot': 'so101'})
    panda = MODES['sim'].nodes({'robot': 'panda', 'lock_step': 'true'})
    assert [s.full_name for s in so101] == ['/sim_arm', '/safety_filter', '/image_processor']
    assert so101[0].parameter_files == ('sim_so101.yaml',)
    assert panda[0].parameter_files == panda[1].parameter_files == ('sim_panda.yaml',)
    assert panda[0].parameters['lock_step'] and panda[1].parameters['tick_on_joint_states']
    with pytest.raises(GraphError, match='robot:=ur5 is not one of so101, panda'):
        MODES['sim'].nodes({'robot': 'ur5'})
