"""Property test: any capacity and episode pattern keeps every sampleable row consistent."""

from helpers import add_step, assert_consistent
from hilserl_learning.replay_buffer import ReplayBuffer
import pytest

hypothesis = pytest.importorskip('hypothesis')
st = hypothesis.strategies


@hypothesis.settings(max_examples=40, deadline=None, database=None)
@hypothesis.given(
    capacity=st.integers(2, 12),
    episodes=st.lists(st.tuples(st.integers(1, 9), st.sampled_from(['term', 'trunc', 'none'])),
                      min_size=1, max_size=8))
def test_property_every_sampleable_row_is_a_complete_step(capacity, episodes):
    """For any capacity and episode pattern, all sampleable rows are consistent steps."""
    buffer = ReplayBuffer(capacity, state_dim=2, action_dim=2)
    for episode, (length, end) in enumerate(episodes):
        for step in range(length):
            last = step == length - 1
            add_step(buffer, episode, step, terminated=last and end == 'term',
                     truncated=last and end == 'trunc')
            rows = buffer._valid_rows[:len(buffer)]
            assert len(set(rows.tolist())) == len(rows)
            batch = buffer._gather(rows)
            assert_consistent(batch)
            states = batch.observations['state'].long().tolist()
            assert [episode, step] in states  # the step just added is always sampleable
            for (ep, t), done, cut in zip(states, batch.terminated, batch.truncated):
                ends_here = t == episodes[ep][0] - 1
                assert bool(done) == (ends_here and episodes[ep][1] == 'term')
                assert bool(cut) == (ends_here and episodes[ep][1] == 'trunc')
