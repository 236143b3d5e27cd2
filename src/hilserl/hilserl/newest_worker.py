"""A worker thread that handles only the newest job handed to it; no ROS."""

import threading
from typing import Any, Callable


class NewestOnlyWorker:
    """
    Run ``handle(job)`` on a thread of its own, for the newest job submitted.

    A job submitted while another one waits replaces it: the actor's workers (decoding
    policy parameters, encoding camera frames) only care about the latest. ``handle``
    must not raise; it reports its own errors.
    """

    def __init__(self, handle: Callable[[Any], None], name: str):
        """Start the thread ``name``."""
        self._handle = handle
        self._job: Any = None
        self._has_job = False
        self._stopped = False
        self._condition = threading.Condition()
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Any) -> None:
        """Hand over ``job`` (never blocks); a job still waiting is dropped."""
        with self._condition:
            self._job, self._has_job = job, True
            self._condition.notify()

    def stop(self) -> None:
        """End the thread once the job in hand (if any) is done."""
        with self._condition:
            self._stopped = True
            self._condition.notify()
        self._thread.join(timeout=5.0)

    def _work(self) -> None:
        while True:
            with self._condition:
                self._condition.wait_for(lambda: self._stopped or self._has_job)
                if self._stopped:
                    return
                job, self._job, self._has_job = self._job, None, False
            self._handle(job)
