"""
A tiny Gymnasium environment for the gym_env node's process test; importing it registers it.

``point_reach_env/PointReach-v0``: a point in the plane, observed as a Box of 2 values,
moved by a 3-value Box action (0.1 per full step in x and y; the third value is kept as
``grip``). It succeeds (``info['succeed']``) when x reaches 0.3 and ends without success
when |y| passes 0.25. ``render()`` draws the point's x as the frame's brightness.
"""

import gymnasium
from gymnasium import spaces
import numpy as np


class PointReach(gymnasium.Env):
    """See the module docstring."""

    metadata = {'render_modes': ['rgb_array']}

    def __init__(self, render_mode=None):
        self.render_mode = render_mode
        self.observation_space = spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.action_space = spaces.Box(-0.1, 0.1, (3,), np.float32)
        self.point = np.zeros(2)
        self.grip = 0.0

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.point = np.zeros(2)
        return self.point.astype(np.float32), {}

    def step(self, action):
        self.point = self.point + np.asarray(action[:2], float)
        self.grip = float(action[2])
        success = bool(self.point[0] >= 0.3 - 1e-6)
        out = bool(abs(self.point[1]) > 0.25)
        return (self.point.astype(np.float32), float(success), success or out, False,
                {'succeed': success})

    def render(self):
        return np.full((12, 16, 3), int(100 + 100 * self.point[0]), np.uint8)


gymnasium.register('point_reach_env/PointReach-v0', entry_point=PointReach)
