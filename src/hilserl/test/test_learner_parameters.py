"""The learner's parameters: declared, read into one record, bad values refused."""

import os

from hilserl.nodes.learner_parameters import declare_learner_parameters, RENAMED_PARAMETERS
import pytest
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter


@pytest.fixture(scope='module')
def context():
    """Return an rclpy context whose nodes no graph sees (discovery off)."""
    saved = os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE')
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'OFF'
    context = rclpy.Context()
    rclpy.init(context=context)
    yield context
    rclpy.try_shutdown(context=context)
    if saved is None:
        os.environ.pop('ROS_AUTOMATIC_DISCOVERY_RANGE', None)
    else:
        os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = saved


def declared(context, **values):
    """Declare the learner's parameters on a plain node started with ``values``."""
    overrides = [Parameter(name.replace('__', '.'), value=value)
                 for name, value in values.items()]
    node = Node('learner', context=context, parameter_overrides=overrides)
    try:
        return declare_learner_parameters(node)
    finally:
        node.destroy_node()


def test_the_record_holds_what_the_node_was_started_with(context, tmp_path):
    p = declared(context, run_dir=str(tmp_path), batch_size=32, use_cameras=False,
                 agent__discount=0.9, policy_push_period_s=2.0, learn=False,
                 demo_datasets=['a', 'b'], image_encoder='cnn')
    assert p.settings.run_dir == str(tmp_path) and p.settings.batch_size == 32
    assert p.settings.camera_names == [] and p.settings.state_names is None
    assert p.settings.agent.discount == 0.9 and p.settings.agent.image_encoder == 'cnn'
    assert (p.push_period_s, p.ack_period_s, p.learn) == (2.0, 0.2, False)
    assert p.demo_datasets == ['a', 'b'] and not p.resume


@pytest.mark.parametrize('values, message', [
    ({}, 'run_dir is not set'),
    ({'storage_device': 'cuda'}, "storage_device 'cuda' is not supported"),
    ({'device': 'nonsense'}, "device 'nonsense'"),
    ({'batch_size': 0}, 'batch_size must be at least 1'),
    ({'ack_period_s': 0.0}, 'policy_push_period_s must be positive'),
    ({'max_updates_per_step': 3}, "'max_updates_per_step' is now 'updates_per_step'"),
])
def test_bad_values_are_refused_with_a_reason(context, tmp_path, values, message):
    if 'run_dir' not in values and values:
        values = dict(values, run_dir=str(tmp_path))
    with pytest.raises(ValueError, match=message):
        declared(context, **values)


def test_every_renamed_parameter_names_a_declared_one(context, tmp_path):
    node = Node('learner', context=context,
                parameter_overrides=[Parameter('run_dir', value=str(tmp_path))])
    try:
        declare_learner_parameters(node)
        assert all(node.has_parameter(new) for new in RENAMED_PARAMETERS.values())
    finally:
        node.destroy_node()
