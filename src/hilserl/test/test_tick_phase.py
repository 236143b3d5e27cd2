import pytest

from hilserl.actor.tick_phase import (best_tick_phase, circular_median, delay_to_phase,
                                      JITTER_S, mean_waits, MIN_SETS, MIN_TICKS, TickPhase,
                                      wrap)

PERIOD = 0.1


def test_wrap_gives_the_nearest_signed_difference():
    assert wrap(0.03, PERIOD) == pytest.approx(0.03)
    assert wrap(0.098 - 0.001, PERIOD) == pytest.approx(-0.003)
    assert wrap(-0.097, PERIOD) == pytest.approx(0.003)


def test_circular_median_of_a_cluster_across_the_period_boundary():
    # Phases just below the period and just above 0: the cluster is around 0, not 0.05.
    phases = [0.097, 0.098, 0.099, 0.001, 0.002]
    assert wrap(circular_median(phases, PERIOD) - 0.099, PERIOD) == pytest.approx(0, abs=1e-9)
    assert circular_median([0.02, 0.03, 0.031, 0.06], PERIOD) == pytest.approx(0.0305)
    # 0.09 is 0.01 before 0, nearer the others that way round than 0.06 after them.
    assert circular_median([0.02, 0.03, 0.031, 0.09], PERIOD) == pytest.approx(0.025)
    assert circular_median([0.04], PERIOD) == pytest.approx(0.04)


def test_mean_waits_count_round_to_the_next_tick():
    waits = mean_waits([0.05, 0.001], [0.04, 0.05, 0.06], PERIOD)
    assert waits[0] == pytest.approx((0.01 + 0 + 0.09) / 3)
    assert waits[1] == pytest.approx((0.061 + 0.051 + 0.041) / 3)
    # Across the boundary: arrivals at 0.098 and 0.099 wait for a tick at 0.001.
    assert mean_waits([0.001], [0.098, 0.099], PERIOD)[0] == pytest.approx(0.0025)
    # With jitter, a tick just after the arrivals may come before them: ticks from 0.0985
    # to 0.1005, the arrival at 0.099 waits most of a period, or 0, 0.0005, 0.001, 0.0015.
    jittered = mean_waits([0.0995], [0.099], PERIOD, jitter=0.001)[0]
    assert jittered == pytest.approx((0.0995 + 0 + 0.0005 + 0.001 + 0.0015) / 5)


def test_the_best_tick_phase_follows_the_arrivals_across_the_boundary():
    arrivals = [0.097, 0.098, 0.099, 0.0995]
    phase, wait = best_tick_phase(arrivals, PERIOD, jitter=0.001)
    # 1 ms after the last, past the boundary: even 1 ms early it is after them all.
    assert phase == pytest.approx(0.0005)
    assert wait == pytest.approx(mean_waits([0.0005], arrivals, PERIOD, jitter=0.001)[0])
    phase, _ = best_tick_phase([0.097, 0.0985, 0.0995, 0.0005], PERIOD, jitter=0.001)
    assert phase == pytest.approx(0.0015)
    # A late straggler is not worth a tick after it: the others would wait most of a
    # period instead.
    arrivals = [0.010, 0.011, 0.012, 0.011, 0.010, 0.012, 0.040]
    assert best_tick_phase(arrivals, PERIOD, jitter=0.001)[0] == pytest.approx(0.013)
    # Spread evenly, any arrival's phase is as good as another's.
    _, wait = best_tick_phase([0.0, 0.025, 0.05, 0.075], PERIOD, jitter=0.0)
    assert wait == pytest.approx((0 + 0.025 + 0.05 + 0.075) / 4)


def test_delay_to_the_next_instant_with_a_phase_wraps_round():
    assert delay_to_phase(10.02, 0.05, PERIOD) == pytest.approx(0.03)
    assert delay_to_phase(10.07, 0.05, PERIOD) == pytest.approx(0.08)
    assert delay_to_phase(10.098, 0.001, PERIOD) == pytest.approx(0.003)


def feed(phase, start, count, frames, ticks, period=PERIOD, in_episode=False):
    """Two cameras' frames at ``frames`` (+ 1 ms for the second), ticks at ``ticks``."""
    for k in range(count):
        base = start + k * period
        phase.frame_arrived('left', base + frames, in_episode)
        phase.frame_arrived('right', base + frames + 0.001, in_episode)
        phase.ticked(base + ticks)
    return start + count * period


J = JITTER_S   # ticks wanted this long after tight arrivals; they then wait J on average


def test_ticks_are_planned_a_little_after_the_complete_sets():
    phase = TickPhase(PERIOD, ['left', 'right'])
    now = feed(phase, 100.0, MIN_SETS, frames=0.010, ticks=0.060)
    plan = phase.plan(now)
    # The set is complete with the second camera, at phase 0.011.
    assert plan.needed
    assert plan.new_phase_s == pytest.approx(0.011 + J)
    assert plan.old_phase_s == pytest.approx(0.06)
    assert plan.old_wait_s == pytest.approx(0.049) and plan.new_wait_s == pytest.approx(J)
    assert plan.delay_s == pytest.approx(0.011 + J)
    assert plan.restart_phase_s == pytest.approx(0.011 + J)
    # Re-phased there, the ticks are within tolerance: nothing more to do.
    phase.rephased(plan.restart_phase_s)
    assert phase.plan(now) is None   # too few ticks since
    now = feed(phase, now, MIN_TICKS, frames=0.010, ticks=0.0115 + J)
    plan = phase.plan(now)
    assert not plan.needed and plan.old_wait_s == pytest.approx(J + 0.0005)


def test_a_plan_across_the_period_boundary():
    phase = TickPhase(PERIOD, ['left', 'right'])
    now = feed(phase, 200.0, MIN_SETS, frames=0.0985, ticks=0.05)
    plan = phase.plan(now)
    wanted = 0.0995 + J - PERIOD   # past the boundary
    assert plan.new_phase_s == pytest.approx(wanted)
    assert plan.delay_s == pytest.approx(wanted) and plan.needed
    # Up to 1 ms later than wanted is in phase; before the sets or later is not.
    for ticks, needed in ((wanted, False), (wanted + 0.0009, False), (wanted + 0.0011, True),
                          (0.0990, True)):
        near = TickPhase(PERIOD, ['left', 'right'])
        now = feed(near, 200.0, MIN_SETS, frames=0.0985, ticks=ticks)
        assert near.plan(now).needed == needed, ticks


def test_the_timers_dispatch_delay_is_learnt_and_aimed_for():
    phase = TickPhase(PERIOD, ['left', 'right'])
    now = feed(phase, 300.0, MIN_SETS, frames=0.030, ticks=0.080)
    plan = phase.plan(now)
    phase.rephased(plan.restart_phase_s)
    # The ticks came 2.5 ms later than aimed: the next plan restarts that much earlier.
    now = feed(phase, now, MIN_TICKS, frames=0.030, ticks=0.0335 + J)
    again = phase.plan(now)
    assert phase.dispatch_s == pytest.approx(0.0025)
    assert again.needed and again.new_phase_s == pytest.approx(0.031 + J)
    assert again.restart_phase_s == pytest.approx(0.0285 + J)
    # Then 0.5 ms late, then 3 ms: the median of the three.
    for late, dispatch in ((0.0005, 0.0015), (0.003, 0.0025)):
        phase.rephased(0.05)
        now = feed(phase, now, MIN_TICKS, frames=0.030, ticks=0.05 + late)
        phase.plan(now)
        assert phase.dispatch_s == pytest.approx(dispatch)


def test_the_frames_of_episodes_count_once_there_are_enough():
    phase = TickPhase(PERIOD, ['left', 'right'])
    now = feed(phase, 0.0, MIN_SETS, frames=0.010, ticks=0.060)
    assert phase.plan(now).new_phase_s == pytest.approx(0.011 + J)
    # In an episode the frames come 20 ms later (the loop's own work slows them down).
    now = feed(phase, now, MIN_SETS - 1, frames=0.030, ticks=0.060, in_episode=True)
    assert phase.plan(now).new_phase_s == pytest.approx(0.011 + J)   # not enough yet
    now = feed(phase, now, 1, frames=0.030, ticks=0.060, in_episode=True)
    assert phase.plan(now).new_phase_s == pytest.approx(0.031 + J)
    # Between episodes again, still those of the last episode.
    now = feed(phase, now, MIN_SETS, frames=0.010, ticks=0.060)
    assert phase.plan(now).new_phase_s == pytest.approx(0.031 + J)


def test_nothing_to_plan_without_cameras_slow_frames_or_stopped_cameras():
    no_cameras = TickPhase(PERIOD, [])
    no_cameras.frame_arrived('left', 1.0)
    for k in range(20):
        no_cameras.ticked(1.0 + k * PERIOD)
    assert no_cameras.plan(3.0) is None
    slow = TickPhase(PERIOD, ['left', 'right'])
    now = feed(slow, 0.0, MIN_SETS, frames=0.01, ticks=0.06, period=3 * PERIOD)
    for k in range(MIN_TICKS):
        slow.ticked(now + k * PERIOD + 0.06)
    assert not slow.frames_at_control_rate(now) and slow.plan(now) is None
    stopped = TickPhase(PERIOD, ['left', 'right'])
    now = feed(stopped, 0.0, MIN_SETS, frames=0.01, ticks=0.06)
    assert stopped.plan(now).needed
    assert stopped.plan(now + 0.9).needed   # a pause, e.g. while the simulator resets
    assert stopped.plan(now + 1.1) is None


def test_one_camera_lagging_completes_the_set_when_it_comes():
    phase = TickPhase(PERIOD, ['left', 'right'])
    phase.frame_arrived('left', 1.00)
    phase.frame_arrived('left', 1.01)
    phase.frame_arrived('other', 1.015)   # not one of the cameras
    assert list(phase.arrivals()) == []
    phase.frame_arrived('right', 1.02)
    assert list(phase.arrivals()) == [1.02]
