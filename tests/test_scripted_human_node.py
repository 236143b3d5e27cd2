"""The scripted human node times its decisions by the control loop's steps."""

import bisect
import statistics

from hilserl_interfaces.msg import EndEffectorCommand, SimGroundTruth

from hilserl.launching.graph import NodeSpec

LEAD_S = 0.03


def seconds(stamp):
    return stamp.sec + stamp.nanosec * 1e-9


def test_it_decides_act_lead_s_before_each_control_step_and_alone_when_they_stop(
        processes, probe):
    processes.start_node(NodeSpec('scripted_human', 'scripted_human', parameters={
        'robot': 'so101', 'task': 'pick_lift', 'fps': 10.0, 'act_lead_s': LEAD_S}))
    decisions = probe.subscribe(EndEffectorCommand, '/teleop/command', 100)
    truth = probe.publisher(SimGroundTruth, '/sim/ground_truth', 10)
    control = probe.publisher(EndEffectorCommand, '/end_effector_command', 10)
    probe.wait_for_subscribers(truth)
    probe.wait_for_subscribers(control)
    truth.publish(SimGroundTruth(task='pick_lift'))
    decisions.wait_for_messages(1)  # no control steps yet: it acts on its own timer

    step_times = []

    def control_step():
        step_times.append(seconds(probe.node.get_clock().now().to_msg()))
        control.publish(EndEffectorCommand())
    timer = probe.node.create_timer(0.1, control_step)
    probe.spin_until(lambda: len(step_times) >= 30, 20, '30 control steps')
    timer.cancel()
    # Each decision after the first few steps: how long after the step before it.
    delays = []
    for msg in decisions.messages:
        at = seconds(msg.header.stamp)
        before = bisect.bisect_right(step_times, at) - 1
        if before >= 3 and at < step_times[-1]:
            delays.append(at - step_times[before])
    assert len(delays) >= 20
    assert abs(statistics.median(delays) - (0.1 - LEAD_S)) < 0.015, sorted(delays)

    seen = len(decisions.messages)
    decisions.wait_for_messages(seen + 5, timeout=5)  # the steps stopped; it goes on alone
