"""Repeated errors are reported once per period per key, with a count."""

from hilserl_common.log_throttle import LogThrottle


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_first_report_then_silence_then_count_of_suppressed():
    clock = FakeClock()
    throttle = LogThrottle(5.0, clock)
    assert throttle.check('a') == 0
    assert [throttle.check('a') for _ in range(3)] == [None, None, None]
    clock.now += 5.0
    assert throttle.check('a') == 3
    assert throttle.total['a'] == 5


def test_keys_are_throttled_independently():
    throttle = LogThrottle(5.0, FakeClock())
    assert throttle.check(('front', 'x')) == 0
    assert throttle.check(('wrist', 'x')) == 0
    assert throttle.check(('front', 'y')) == 0
    assert throttle.check(('front', 'x')) is None
