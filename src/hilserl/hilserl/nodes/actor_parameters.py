"""The actor node's parameters: declared with their descriptions, checked, in one record."""

from dataclasses import dataclass
import re
from typing import List, Optional

from rclpy.parameter import Parameter

from hilserl.actor.reward_labeler import REWARD_SOURCES
from hilserl.arm.robot_registry import default_joint_names
from hilserl.defaults import (ARM_HOME_PARAMETER, ARM_NODE, CAMERA_NAMES, CONTROL_FPS,
                              EPISODE_TIME_S, RESET_RETRY_S, TELEOP_TIMEOUT_S)
from hilserl_common.node_support import declare, valid_camera_name


@dataclass(frozen=True)
class ActorParameters:
    """What an actor was configured with (see each parameter's description)."""

    actor_id: str
    fps: float
    thread_priority: int
    control_time_s: float
    steps_after_success: int
    frame_encoding_budget: float
    cameras: List[str]
    arm_joints: List[str]
    gripper_joint: str
    state_from_ground_truth: bool
    reward_source: str
    progress_shaping_weight: float
    check_reward: bool
    allow_interventions: bool
    intervention_penalty: float
    deterministic: bool
    send_transitions: bool
    num_episodes: int
    max_minutes: float
    eval_log: str
    teleop_timeout_s: float
    reset_timeout_s: float
    reset_pose: Optional[List[float]]
    arm_node: str
    home_parameter: str
    max_queue_memory_mb: float
    spill_dir: str
    resend_after_s: float
    max_resend_per_tick: int
    wait_for_policy: bool
    torch_threads: int


def declare_actor_parameters(node) -> ActorParameters:
    """Declare the actor's parameters on ``node``; raise ValueError for a bad value."""
    def param(name, default, description):
        return declare(node, name, default, description)

    cameras = param('camera_names', list(CAMERA_NAMES),
                    "Cameras of the observation ('<camera>/image_processed'); [] for a "
                    'state-only policy.')
    use_cameras = param('use_cameras', True,
                        'false: a state-only policy (camera_names are not used).')
    default_arm, default_gripper = default_joint_names()
    p = ActorParameters(
        actor_id=param('actor_id', '', 'Id in the transitions (empty: the node name).')
        or node.get_name(),
        fps=param('fps', CONTROL_FPS, 'Control steps per second.'),
        thread_priority=param(
            'thread_priority', 50,
            "SCHED_FIFO priority (1-99) of the control loop's thread, as ros2_control's "
            'thread_priority; 0: normal scheduling. Where not permitted, the node warns and '
            'runs at normal priority.'),
        control_time_s=param('control_time_s', EPISODE_TIME_S,
                             'Time limit of an episode (s): its last step is truncated.'),
        steps_after_success=param(
            'number_of_steps_after_success', 0,
            'Steps after a SUCCESS, with reward 1, before the episode ends (terminated).'),
        frame_encoding_budget=param(
            'frame_encoding_budget', 0.75,
            'Share of the control period the frozen image encoder may take per tick (the '
            'new frames go through it in one batch): when more cameras have a new frame '
            'than fit, the longest-waiting go first and the others act on their previous '
            'frame one tick longer (one is always encoded).'),
        cameras=list(cameras or []) if use_cameras else [],
        arm_joints=param('arm_joint_names', list(default_arm),
                         'Arm joints of the state vector, in order.'),
        gripper_joint=param('gripper_joint_name', default_gripper,
                            'Gripper joint of the state vector.'),
        state_from_ground_truth=param(
            'state_from_ground_truth', False,
            'Simulation only: append the object position (object.x/y/z) from '
            'sim/ground_truth and its offset from the TCP (object.dx/dy/dz) to the state '
            'vector.'),
        reward_source=param(
            'reward_source', 'human',
            "Who says SUCCESS: 'ground_truth' (sim/ground_truth.success), 'classifier' "
            "(reward_classifier/success) or 'human' (SUCCESS on episode_events)."),
        progress_shaping_weight=param(
            'progress_shaping_weight', 0.0,
            'Simulation only: add w * (progress after - progress before) to the reward of '
            "each step, the progress being the task's shaped progress "
            "(sim/ground_truth.dense_reward): potential-based shaping. 0: HIL-SERL's "
            'sparse reward. See hilserl.actor.reward_labeler.'),
        check_reward=param(
            'check_reward_against_ground_truth', False,
            'Simulation, reward_source classifier: also read sim/ground_truth and count the '
            "steps where the classifier's decision agrees with it or not (EpisodeStats, "
            'eval_log).'),
        allow_interventions=param(
            'allow_interventions', True,
            'Execute the human command while teleop/intervention is true (false: ignore it).'),
        intervention_penalty=param(
            'intervention_penalty', 0.0,
            'Reward -p for a policy step after which the human took over (RLIF); 0: '
            "HIL-SERL's labels. With p > 0 set the learner's agent.td_target_min below 0."),
        deterministic=param('deterministic', False,
                            "Act with the policy's mode, not a sample (evaluation)."),
        send_transitions=param(
            'send_transitions', True,
            'Send the transitions to the learner (false for evaluation runs, whose episodes '
            'must not become training data; episode_stats are still published).'),
        num_episodes=param('num_episodes', 0,
                           'Episodes to run, then log the success rate and exit 0 '
                           '(0: run forever).'),
        max_minutes=param('max_minutes', 0.0,
                          'Finish the episode during which this many minutes passed since '
                          'the first one began, then exit as after num_episodes (0: no time '
                          'limit).'),
        eval_log=param('eval_log', '',
                       'JSON file for the success rate and per-episode results (written at '
                       'exit; empty: none).'),
        teleop_timeout_s=param('teleop_timeout_s', TELEOP_TIMEOUT_S,
                               'An older teleop command is not executed (hold).'),
        reset_timeout_s=param('reset_timeout_s', RESET_RETRY_S,
                              'Retry a reset that has not finished after this long.'),
        reset_pose=param('fixed_reset_joint_positions', Parameter.Type.DOUBLE_ARRAY,
                         'Joint positions (arm, then gripper) every reset goes to, written '
                         "to the arm node's home parameter; unset: its home."),
        arm_node=param('arm_node', ARM_NODE,
                       'Node whose home parameter fixed_reset_joint_positions sets.'),
        home_parameter=param('arm_home_parameter', ARM_HOME_PARAMETER,
                             "Name of the arm node's home parameter."),
        max_queue_memory_mb=param(
            'max_queue_memory_mb', 256.0,
            'Unacknowledged transitions kept in memory (MiB); older ones spill to spill_dir.'),
        spill_dir=param('spill_dir', '',
                        'Directory for spilled transitions (empty: a temporary one).'),
        resend_after_s=param(
            'resend_after_s', 2.0,
            'Resend from the last acknowledgement when it has not advanced for this long.'),
        max_resend_per_tick=param('max_resend_per_tick', 50,
                                  'Transitions resent per control tick at most.'),
        wait_for_policy=param(
            'wait_for_policy', False,
            'Start the first episode only once policy parameters arrived (the learner may '
            'still be pretraining on the demonstrations); false: zero actions until then.'),
        torch_threads=param('torch_threads', 1, 'Threads torch may use to act.'))
    check(p)
    return p


def check(p: ActorParameters) -> None:
    """Raise ValueError, saying what is wrong, for values the actor can't run with."""
    if not re.fullmatch(r'[A-Za-z0-9_]+', p.actor_id):
        raise ValueError(f"actor_id '{p.actor_id}' may hold only letters, digits and "
                         'underscores')
    if p.reward_source not in REWARD_SOURCES:
        raise ValueError(f"reward_source must be one of {REWARD_SOURCES}, got "
                         f"'{p.reward_source}'")
    if not p.progress_shaping_weight >= 0:
        raise ValueError('progress_shaping_weight must be >= 0')
    if p.check_reward and p.reward_source != 'classifier':
        raise ValueError('check_reward_against_ground_truth checks the reward classifier: it '
                         f"needs reward_source 'classifier', not '{p.reward_source}'")
    if not all(valid_camera_name(name) for name in p.cameras):
        raise ValueError(f'camera_names needs snake_case names, got {p.cameras}')
    if not p.fps > 0 or p.frame_encoding_budget < 0:
        raise ValueError('fps must be positive and frame_encoding_budget >= 0')
    if not 0 <= p.thread_priority <= 99:
        raise ValueError(f'thread_priority is {p.thread_priority}, not 0 (normal scheduling) '
                         'or 1-99 (SCHED_FIFO)')
    if (p.num_episodes < 0 or p.max_minutes < 0 or p.max_resend_per_tick < 1
            or p.torch_threads < 1):
        raise ValueError('num_episodes and max_minutes must be >= 0, max_resend_per_tick '
                         'and torch_threads >= 1')
    if not p.max_queue_memory_mb > 0:
        raise ValueError('max_queue_memory_mb must be positive')
