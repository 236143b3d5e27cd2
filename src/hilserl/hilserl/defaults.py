"""
Defaults that several nodes and modules share, each in one place; no ROS.

A mode passes every one of these from the robot file or its own arguments; they are
what a node started alone (``ros2 run``) or a plain module falls back on. Change one
here and every user follows. The joints a node assumes when started alone are the
default robot's (:func:`hilserl.arm.robot_registry.default_joint_names`, from
``config/default_robot.yaml``), not copied here.

- :data:`CONTROL_FPS`: control steps per second of the episode loop (actor, recorder,
  scripted human, episode labels) and the rate the simulator renders cameras at, so
  that every control step has a fresh frame.
- :data:`EPISODE_TIME_S`: the time limit of an episode.
- :data:`TELEOP_TIMEOUT_S`: a teleop command older than this is not executed (hold).
- :data:`RESET_RETRY_S`: an episode loop asks again for a reset not finished in this long.
- :data:`CAMERA_NAMES`: the cameras of the demo scenes (front and wrist).
- :data:`ARM_CONTROL_RATE_HZ`: joint targets per second of the arm's control loop (the
  simulator's physics control steps and the safety filter's ticks).
- :data:`BASE_FRAME`: the frame of the arm's base (the URDF root link).
- :data:`ARM_NODE`, :data:`ARM_HOME_PARAMETER`: the node whose home parameter an episode
  loop's fixed reset pose is written to, and that parameter.
- :data:`TASK`: the simulated task (the simulator and the scripted human).
"""

CONTROL_FPS = 10.0
EPISODE_TIME_S = 20.0
TELEOP_TIMEOUT_S = 0.5
RESET_RETRY_S = 10.0
CAMERA_NAMES = ('front', 'wrist')
ARM_CONTROL_RATE_HZ = 30.0
BASE_FRAME = 'base_link'
ARM_NODE = 'sim_arm'
ARM_HOME_PARAMETER = 'home_joint_positions'
TASK = 'pick_lift'
