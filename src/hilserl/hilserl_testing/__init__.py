"""
Helpers for tests that start real nodes and talk to them over DDS.

:mod:`hilserl_testing.processes` starts nodes and modes as subprocesses and
always tears them down; :mod:`hilserl_testing.probe` is the test's own node that
waits for endpoints to match and collects messages, with deadlines, never fixed
sleeps; :mod:`hilserl_testing.isolation` gives a test session its own DDS domain;
:mod:`hilserl_testing.recording` runs record mode with the scripted human to its end.
"""
