"""The actor's decisions without ROS: actions, policy swaps, frame features, loop statistics."""

import threading
import time
import types

from hilserl.actor.core import (check_policy_fits, choose_action, FrameFeatures, LoopStats,
                                PolicyHolder)
from hilserl_learning import AgentConfig, SACAgent
from hilserl_learning.policy_blob import encode_policy
import numpy as np
import pytest
import torch

HUMAN = [0.5, -0.5, 0.0, 1.0]


def test_the_human_acts_while_in_control_and_allowed():
    calls = []
    action, intervention = choose_action(True, True, HUMAN, lambda: calls.append(1))
    assert intervention and action.tolist() == HUMAN and not calls


def test_the_policy_acts_otherwise_and_interventions_can_be_ignored():
    policy = lambda: np.array([0.1, 0.2, 0.3, -1.0])  # noqa: E731
    for in_control, allowed in ((False, True), (True, False), (False, False)):
        action, intervention = choose_action(in_control, allowed, HUMAN, policy)
        assert not intervention and action.tolist() == pytest.approx([0.1, 0.2, 0.3, -1.0])


def test_without_a_policy_the_arm_holds_still_and_a_gripperless_policy_stays():
    action, intervention = choose_action(False, True, HUMAN, None)
    assert not intervention and action.tolist() == [0, 0, 0, 0]
    action, _ = choose_action(False, True, HUMAN, lambda: np.array([0.1, 0.2, 0.3]))
    assert action.tolist() == pytest.approx([0.1, 0.2, 0.3, 0.0])


def small_agent(seed=0, state_dim=5):
    torch.manual_seed(seed)
    return SACAgent(AgentConfig(state_dim=state_dim, hidden_dims=(16,),
                                grasp_hidden_dims=(8,)))


def wait_for(condition, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f'timed out waiting for {what}'
        time.sleep(0.01)


class Holder:
    """A PolicyHolder with its messages collected."""

    def __init__(self):
        self.errors, self.loaded = [], []
        self.holder = PolicyHolder(self.errors.append, self.loaded.append)

    def offer(self, agent, version, corrupt=False):
        blob, digest = encode_policy(agent, version)
        self.holder.offer(blob, '0' * 64 if corrupt else digest, 1)


def test_policies_are_decoded_off_thread_and_swapped_in_only_by_swap():
    holder = Holder()
    try:
        assert holder.holder.swap() is None and holder.holder.agent is None
        learner = small_agent(1)
        holder.offer(learner, 7)
        wait_for(lambda: holder.loaded, 'the first blob')
        assert holder.holder.agent is None  # not before the control thread swaps
        assert holder.holder.swap() == 7 and holder.holder.version == 7
        observation = {'state': np.linspace(-1, 1, 5).astype(np.float32)}
        expected = learner.select_action(observation, deterministic=True)
        actual = holder.holder.agent.select_action(observation, deterministic=True)
        assert actual == pytest.approx(expected)
        first = holder.holder.agent
        holder.offer(small_agent(2), 8)
        holder.offer(small_agent(3), 9)   # may replace 8 before it is decoded
        wait_for(lambda: holder.holder._ready is not None and holder.holder._ready[1] == 9,
                 'version 9')
        assert holder.holder.swap() == 9 and holder.holder.agent is not first
        assert not holder.errors
    finally:
        holder.holder.stop()


def test_bad_blobs_are_one_error_each_and_the_old_policy_stays():
    holder = Holder()
    try:
        holder.offer(small_agent(1), 3)
        wait_for(lambda: holder.loaded, 'the first blob')
        holder.holder.swap()
        holder.offer(small_agent(2), 4, corrupt=True)
        wait_for(lambda: len(holder.errors) == 1, 'the checksum error')
        assert 'checksum mismatch' in holder.errors[0] and 'version 3' in holder.errors[0]
        holder.offer(small_agent(2, state_dim=6), 5)
        wait_for(lambda: len(holder.errors) == 2, 'the configuration error')
        assert 'state_dim' in holder.errors[1]
        holder.holder.offer(b'not a blob', 'ab', 1)
        wait_for(lambda: len(holder.errors) == 3, 'the checksum error')
        assert holder.holder.swap() is None and holder.holder.version == 3
    finally:
        holder.holder.stop()


def test_a_policy_that_does_not_fit_the_actor_is_refused():
    errors = []

    def validate(config):
        if config.state_dim != 5:
            raise ValueError(f'the policy takes {config.state_dim} state values')
    holder = PolicyHolder(errors.append, print, validate=validate)
    try:
        blob, digest = encode_policy(small_agent(1, state_dim=6), 1)
        holder.offer(blob, digest, 1)
        wait_for(lambda: errors, 'the error')
        assert 'takes 6 state values' in errors[0] and holder.swap() is None
    finally:
        holder.stop()


def test_loop_stats_rate_jitter_and_latency():
    stats = LoopStats(fps=10.0)
    assert stats.summary().hz_mean == 0.0
    for time_s in (0.0, 0.1, 0.2, 0.3, 0.45, 0.55):
        stats.tick(time_s)
    for latency in (0.01, 0.03):
        stats.latency(latency)
    summary = stats.summary()
    rates = [10, 10, 10, 1 / 0.15, 10]
    assert summary.hz_mean == pytest.approx(np.mean(rates))
    assert summary.hz_p90 == pytest.approx(np.percentile(rates, 90))
    assert summary.jitter_p99_ms == pytest.approx(np.percentile([0, 0, 0, 50, 0], 99), abs=1e-6)
    assert summary.latency_ms_mean == pytest.approx(20.0)
    stats.clear()
    assert stats.summary().latency_ms_mean == 0.0


class FakeEncoder:
    """Encodes frames as [value] * 4 each, taking ``seconds`` a frame on a fake clock."""

    def __init__(self, seconds, per_batch=0.0):
        self.now, self.seconds, self.per_batch, self.calls = 0.0, seconds, per_batch, []

    def clock(self):
        return self.now

    def encode_with(self, value):
        def encode(indices):
            self.calls.append((list(indices), value))
            self.now += self.per_batch + self.seconds * len(indices)
            return np.full((len(indices), 4), value, np.float32)
        return encode


def test_frame_features_are_encoded_once_per_frame_and_encoder():
    encoder = FakeEncoder(seconds=0.01)
    cache = FrameFeatures(budget_s=0.05, clock=encoder.clock)
    left, right, newer = object(), object(), object()
    assert cache.admit([left, right], 'aaaa') == [left, right]
    assert cache.features(encoder.encode_with(1.0))[:, 0].tolist() == [1.0, 1.0]
    # A tick between two camera frames sees the same messages: nothing is encoded.
    assert cache.admit([left, right], 'aaaa') == [left, right]
    assert cache.features(encoder.encode_with(2.0))[:, 0].tolist() == [1.0, 1.0]
    # A new frame from one camera: only that one.
    assert cache.admit([left, newer], 'aaaa') == [left, newer]
    assert cache.features(encoder.encode_with(3.0))[:, 0].tolist() == [1.0, 3.0]
    # Another encoder: everything again.
    cache.admit([left, newer], 'bbbb')
    assert cache.features(encoder.encode_with(4.0))[:, 0].tolist() == [4.0, 4.0]
    # One batch per tick, of the frames not encoded yet.
    assert encoder.calls == [([0, 1], 1.0), ([1], 3.0), ([0, 1], 4.0)]
    assert cache.encoded == 5 and cache.encode_s == pytest.approx(0.01)


def test_the_time_per_frame_is_the_batch_time_over_its_frames():
    encoder = FakeEncoder(seconds=0.004, per_batch=0.012)
    cache = FrameFeatures(budget_s=0.02, clock=encoder.clock)
    cache.admit([object(), object()], 'aaaa')
    cache.features(encoder.encode_with(1.0))
    assert cache.encode_s == pytest.approx((0.012 + 2 * 0.004) / 2)   # 10 ms: both fit
    both = [object(), object()]
    assert cache.admit(both, 'aaaa') == both
    cache.features(encoder.encode_with(2.0))
    assert cache.deferred == 0 and encoder.calls[-1] == ([0, 1], 2.0)


def test_frames_over_the_encoding_budget_wait_a_tick_the_longest_waiting_first():
    encoder = FakeEncoder(seconds=0.012)   # one frame fits in 0.02 s, two do not
    cache = FrameFeatures(budget_s=0.02, clock=encoder.clock)
    first = [object(), object(), object()]
    # Every camera's first frame is taken, whatever the budget.
    assert cache.admit(first, 'aaaa') == first
    cache.features(encoder.encode_with(0.0))
    # All three deliver at once: camera 0 goes now, the others keep their frames.
    second = [object(), object(), object()]
    assert cache.admit(second, 'aaaa') == [second[0], first[1], first[2]]
    assert cache.features(encoder.encode_with(1.0))[:, 0].tolist() == [1.0, 0.0, 0.0]
    # Then the ones that waited longest, one per tick, before camera 0's next frame.
    third = [object(), second[1], second[2]]
    assert cache.admit(third, 'aaaa') == [second[0], second[1], first[2]]
    cache.features(encoder.encode_with(2.0))
    assert cache.admit(third, 'aaaa') == [second[0], second[1], second[2]]
    cache.features(encoder.encode_with(3.0))
    assert cache.admit(third, 'aaaa') == third
    assert cache.features(encoder.encode_with(4.0))[:, 0].tolist() == [4.0, 2.0, 3.0]
    assert cache.deferred == 2 + 2 + 1
    # An encoder slower than the budget still gets one new frame through per tick, the
    # cameras in turn.
    encoder.seconds = 1.0
    taken = []
    for _ in range(6):
        fresh = [object(), object(), object()]
        admitted = cache.admit(fresh, 'aaaa')
        cache.features(encoder.encode_with(5.0))
        taken += [i for i in range(3) if admitted[i] is fresh[i]]
    assert taken == [1, 2, 0, 1, 2, 0]


def test_stop_ends_the_worker_thread():
    holder = PolicyHolder(print, print)
    holder.stop()
    assert not any(t.name == 'policy_decoder' and t.is_alive() for t in threading.enumerate()
                   if t is holder._thread)


def test_a_policy_for_other_cameras_or_another_state_does_not_fit():
    config = types.SimpleNamespace(state_dim=13, num_cameras=2)
    check_policy_fits(config, 13, ['front', 'wrist'])
    with pytest.raises(ValueError, match=r"13 state values and 2 cameras; this actor has 13 "
                                         r"and 1 \(\['front'\]\)"):
        check_policy_fits(config, 13, ['front'])
    with pytest.raises(ValueError, match='this actor has 19 and 2'):
        check_policy_fits(config, 19, ('front', 'wrist'))
