"""
HIL-SERL on a simulated arm in one process, counted in environment steps; no ROS.

The pieces are the ROS graph's, called directly instead of over topics: the safety
filter between the commands and the arm (:mod:`hilserl.sim.closed_loop`), the actor's
state vector (:mod:`hilserl.actor.observation_state`, with the cube's position from the
simulator), its choice between the human and the policy
(:func:`hilserl.actor.core.choose_action`), episodes labelled by
:class:`hilserl.actor.episodes.EpisodeTracker` (ground-truth reward), the scripted human
(:mod:`hilserl.human.scripted_human`) recording the demonstrations and taking over during
training, and the learner's rules (:mod:`hilserl_learning`): state statistics and
offline pretraining from the demonstrations, intervention steps copied into the
demonstration buffer, every batch half online and half demonstration data. The
settings are those of ``config/record.yaml`` and ``config/train.yaml``.

What differs from the graph is time: there is none. The policy steps the physics
directly and the learner runs ``updates_per_step`` updates after every environment
step, where the graph's learner runs beside the actor as fast as it can. So a run is
reproducible from its seed, and what it costs is counted in environment steps, which
is what sample efficiency is about. Evaluation runs on a second simulated arm, so it
can happen every ``eval_every`` steps exactly, in the middle of a training episode.

With ``policy_inputs='images'`` the policy sees what train mode's image policy sees:
proprioception without the cube, and the front and wrist cameras (128x128) through the
frozen encoder (``frozen_encoder``: a card; None: seeded random weights, the control),
each frame encoded once and its features stored in the buffers.

:func:`train` also runs on other tasks of :class:`~hilserl.sim.sim_task.SimTask`'s
interface with a human of :func:`scripted_human`'s (:mod:`hilserl.sim.gym.training`: a
Gymnasium environment).
"""

from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from hilserl_learning import (add_transition, AgentConfig, buffer_feature_layout,
                              features_to_cache, fit_normalizer, online_step,
                              pretrain_offline, ReplayBuffer, SACAgent)
from hilserl_learning.feature_cache import acting_observation
from hilserl_learning.gripper import CLOSE, command_to_index, gripper_toggled, OPEN
import numpy as np
import torch

from hilserl.actor.core import choose_action
from hilserl.actor.episodes import EpisodeConfig, EpisodeTracker, SUCCESS
from hilserl.actor.observation_state import action_from_command, command_from_action
from hilserl.actor.reward_labeler import RewardLabeler
from hilserl.arm.robot_registry import default_robot
from hilserl.human.scripted_human import HumanSettings, InterventionSettings, ScriptedHuman, Truth
from hilserl.sim.sim_arm import GroundTruth
from hilserl.sim.sim_task import FPS, SimTask

RECORD_TIME_S = 20.0        # record.yaml control_time_s
# record.yaml keeps 2 steps after a success (reward classifier positives); the learner
# ends a demonstration at its success (dataset.reader.iter_transitions), so this does.
DEMO_STEPS_AFTER_SUCCESS = 0
TRAIN_TIME_S = 10.0         # train.yaml control_time_s
STALL_TIMEOUT_S = 6.0       # scripted_human stall_timeout_s (FAILURE ends the episode)
ONLINE_CAPACITY = 200_000   # train.yaml learner buffer capacities
OFFLINE_CAPACITY = 50_000
EVAL_SEED = 10 ** 9         # evaluation layouts: the same for every run and seed
# train.yaml learner agent.* values (the others are AgentConfig's defaults there too)
AGENT_SETTINGS = dict(discount=0.97, td_target_min=0.0, td_target_max=1.0,
                      critic_updates_per_learner_step=1,
                      bc_weight=0.5, grasp_margin=0.1)
# With an intervention penalty returns go below 0: the lower TD clip docs/training.md advises.
PENALTY_TD_TARGET_MIN = -1.0

Step = Dict[str, object]    # keyword arguments of hilserl_learning.add_transition


def human_truth(truth: GroundTruth) -> Truth:
    """Return what the scripted human node reads from ``sim/ground_truth``."""
    return Truth(tcp=tuple(truth.tcp_position), cube=tuple(truth.cube_position),
                 goal=tuple(truth.target_position), grasped=truth.grasped,
                 success=truth.success, dense_reward=truth.dense_reward)


def scripted_human(task: SimTask, mode: str, seed: int = 0, **intervention) -> ScriptedHuman:
    """
    Return the scripted human of record or train mode.

    ``mode`` and ``intervention`` are :class:`~hilserl.human.scripted_human.InterventionSettings`
    fields (``off_track_distance``, ``stuck_steps``, ``probability``, ...).
    """
    return ScriptedHuman(HumanSettings(
        task=task.arm.config.task, scripted=task.scripted,
        stall_steps=max(1, round(STALL_TIMEOUT_S * FPS)),
        intervention=InterventionSettings(mode=mode, seed=seed, **intervention)))


@dataclass
class EpisodeResult:
    """How one episode went."""

    success: bool
    steps: int
    intervention_steps: int


def run_episode(task: SimTask, human: ScriptedHuman, config: EpisodeConfig, seed: int,
                episode_index: int, policy: Optional[Callable[[Dict], np.ndarray]],
                allow_interventions: bool = True,
                on_step: Optional[Callable[[Step], Optional[bool]]] = None) -> EpisodeResult:
    """
    Run one episode as the actor node does; give each labelled step to ``on_step``.

    Every step the human looks at the ground truth (a command, whether they take over,
    events); the previous step is labelled with those events, plus SUCCESS from the
    ground truth; then the human's command (while they intervene and that is allowed)
    or the policy's action runs. ``policy`` None holds still, as the actor before its
    first parameters; with ``mode='always'`` the human drives every step (record mode).
    ``on_step`` returning True ends the episode after that step (the caller is done).
    """
    truth = task.reset(seed)
    human.start_episode(episode_index)
    tracker = EpisodeTracker(config, episode_index)
    observation = task.observe(truth)
    pending: Optional[Step] = None  # the last step, waiting for its outcome
    gripper_closed = False          # followed from open, as the learner does
    intervention_steps = 0
    rewards = RewardLabeler('ground_truth')   # the actor's reward, as train mode sets it
    while True:
        said = human.step(human_truth(truth))
        if pending is not None:
            events = [event for event in said.events
                      if rewards.accepts(event, from_self=False)]
            if rewards.observe(truth.success):
                events.append(SUCCESS)
            label = tracker.step(events, bool(pending['intervention']),
                                 taken_over=said.intervening and allow_interventions)
            stop = on_step is not None and on_step(dict(
                pending, reward=rewards.reward(label), next_observation=observation,
                terminated=label.terminated, truncated=label.truncated))
            if label.done or stop:
                human.end_episode()
                return EpisodeResult(tracker.succeeded_at is not None, label.step_index + 1,
                                     intervention_steps)
        act = None if policy is None else (lambda: policy(observation))
        action, intervention = choose_action(
            said.intervening, allow_interventions,
            action_from_command(said.delta_xyz, said.gripper), act)
        delta, gripper = command_from_action(action)
        if not intervention:
            action = action_from_command(delta, gripper)  # what the filter got: clipped
        grasp = command_to_index(float(action[-1]))
        toggled = bool(gripper_toggled(gripper_closed, grasp))
        gripper_closed = {CLOSE: True, OPEN: False}.get(grasp, gripper_closed)
        intervention_steps += int(intervention)
        pending = {'observation': observation, 'action': action,
                   'intervention': intervention, 'gripper_toggled': toggled,
                   'episode_id': episode_index}
        truth = task.step(delta, gripper)
        observation = task.observe(truth)


@dataclass(frozen=True)
class RunSettings:
    """One training run: what the learner gets, how long it runs, how it is judged."""

    # A registry name or a robot file; the registry's default robot unless given.
    robot: str = field(default_factory=default_robot)
    task: str = 'pick_lift'
    demos: int = 10
    interventions: bool = True
    seed: int = 0
    max_steps: int = 10_000
    eval_every: int = 1000
    eval_episodes: int = 10
    target_success: float = 0.8
    stop_at_target: bool = True
    pretrain_updates: int = 1000    # train.yaml offline_pretrain_updates
    learning_starts: int = 100      # train.yaml online_step_before_learning
    updates_per_step: int = 1
    batch_size: int = 256
    # The scripted human of train.yaml, if it pays attention in that episode (chance:
    # probability * decay ** episode): it takes over when the TCP is off track by this
    # much (m) or has not come stuck_progress (m) closer for stuck_steps steps.
    off_track_distance: float = 0.05
    stuck_steps: int = 8
    stuck_progress: float = 0.005
    intervention_probability: float = 1.0
    intervention_decay: float = 0.98
    # train.yaml actor intervention_penalty: reward -p for the step before a takeover.
    intervention_penalty: float = 0.0
    control_time_s: float = TRAIN_TIME_S     # training and evaluation episodes
    # What the policy sees: 'state' (with the cube) or 'images' (see the module docstring).
    policy_inputs: str = 'state'
    frozen_encoder: Optional[str] = None
    image_pooling: str = 'encoder'           # agent.image_pooling
    feature_augmentation_copies: int = 0     # agent.feature_augmentation_copies
    visual_variation: str = 'none'

    def __post_init__(self):
        """Refuse settings that make no run."""
        for name in ('max_steps', 'eval_every', 'eval_episodes', 'updates_per_step',
                     'batch_size'):
            if getattr(self, name) < 1:
                raise ValueError(f'{name} must be at least 1, got {getattr(self, name)}')
        for name in ('demos', 'pretrain_updates', 'learning_starts', 'intervention_penalty'):
            if getattr(self, name) < 0:
                raise ValueError(f'{name} must be >= 0, got {getattr(self, name)}')
        if self.policy_inputs not in ('state', 'images'):
            raise ValueError(f"policy_inputs must be 'state' or 'images', not "
                             f'{self.policy_inputs!r}')
        if not 0.0 < self.target_success <= 1.0:
            raise ValueError(f'target_success must be in (0, 1], got {self.target_success}')


@dataclass
class RunResult:
    """A run's learning curve and what it took."""

    curve: List[Tuple[int, float]] = field(default_factory=list)  # (env steps, success rate)
    steps_to_target: Optional[int] = None   # first evaluation at or above the target
    env_steps: int = 0                      # online steps, interventions included
    episodes: int = 0
    intervention_steps: int = 0
    demo_steps: int = 0
    demo_successes: int = 0


def layout_seed(run_seed: int, kind: int, index: int) -> int:
    """Return the layout seed of episode ``index`` of one kind (0 demo, 1 train) of a run."""
    return (run_seed * 4 + kind) * 1_000_000 + index


def evaluate(task: SimTask, agent: SACAgent, episodes: int,
             control_time_s: float = TRAIN_TIME_S, make_human=scripted_human) -> float:
    """Return the deterministic policy's success rate on the fixed evaluation layouts."""
    human = make_human(task, 'none')  # no takeovers; it still calls stalls FAILURE
    config = EpisodeConfig(fps=FPS, control_time_s=control_time_s)
    policy = policy_of(agent, deterministic=True)
    return float(np.mean([run_episode(task, human, config, EVAL_SEED + k, k, policy).success
                          for k in range(episodes)]))


def policy_of(agent: SACAgent, deterministic: bool) -> Callable[[Dict], np.ndarray]:
    """Return the actor's call of the agent on one observation (as stored: copies and all)."""
    return lambda observation: agent.select_action(acting_observation(observation),
                                                   deterministic=deterministic)


def train(settings: RunSettings, progress: Optional[Callable[[int], None]] = None,
          tasks: Optional[Tuple[SimTask, SimTask]] = None, make_human=scripted_human
          ) -> RunResult:
    """
    Record demonstrations, pretrain, then train online; evaluate every ``eval_every`` steps.

    ``progress(1)`` is called after every online environment step. The run ends
    after ``max_steps`` or, with ``stop_at_target``, once an evaluation reached
    ``target_success`` (in the middle of an episode: the rest would teach nothing).
    ``tasks`` (training, evaluation) and ``make_human`` replace the simulated arm's
    (``settings.robot`` and ``task`` then unused).
    """
    s = settings
    torch.manual_seed(s.seed)
    images = s.policy_inputs == 'images'
    task, evaluation_task = tasks or tuple(
        SimTask(s.robot, s.task, s.seed, images, s.visual_variation) for _ in range(2))
    agent_settings = dict(AGENT_SETTINGS)
    if s.intervention_penalty > 0:
        agent_settings['td_target_min'] = PENALTY_TD_TARGET_MIN
    agent = SACAgent(AgentConfig(state_dim=task.state_dim, num_cameras=len(task.cameras),
                                 frozen_weights_path=s.frozen_encoder,
                                 image_pooling=s.image_pooling,
                                 feature_augmentation_copies=s.feature_augmentation_copies,
                                 **agent_settings))
    if images:   # the training task's frames as the buffers store them (feature_cache)
        task.encode = lambda frames: features_to_cache(agent, torch.from_numpy(frames)).numpy()
        evaluation_task.encode = lambda frames: agent.encode_frames(
            torch.from_numpy(frames)).numpy()
    demos, online = (ReplayBuffer(capacity, task.state_dim, 4, seed=2 * s.seed + offset,
                                  **buffer_feature_layout(agent))
                     for offset, capacity in ((0, OFFLINE_CAPACITY), (1, ONLINE_CAPACITY)))
    result = RunResult()

    # Record mode: the human drives every step; every episode is kept.
    recorder = make_human(task, 'always', seed=s.seed)
    record = EpisodeConfig(fps=FPS, control_time_s=RECORD_TIME_S,
                           number_of_steps_after_success=DEMO_STEPS_AFTER_SUCCESS)
    for k in range(s.demos):
        episode = run_episode(task, recorder, record, layout_seed(s.seed, 0, k), -1 - k,
                              None, on_step=lambda step: demos.add(**step))
        result.demo_steps += episode.steps
        result.demo_successes += int(episode.success)
    if s.demos:
        fit_normalizer(agent, demos)
        pretrain_offline(agent, demos, s.pretrain_updates, s.batch_size)

    def record_evaluation() -> None:
        result.curve.append((result.env_steps, evaluate(
            evaluation_task, agent, s.eval_episodes, s.control_time_s, make_human)))
        result.steps_to_target = steps_to_reach(result.curve, s.target_success)

    learning_starts = max(1, s.learning_starts)

    def finished() -> bool:
        return result.env_steps >= s.max_steps or (
            s.stop_at_target and result.steps_to_target is not None)

    def learn(step: Step) -> bool:
        add_transition(online, demos, **step)
        result.env_steps += 1
        if len(online) >= learning_starts:
            if not s.demos and len(online) == learning_starts:
                # No demonstrations to take state statistics from: the first online steps.
                fit_normalizer(agent, online)
            for _ in range(s.updates_per_step):
                online_step(agent, online, demos, s.batch_size)
        if result.env_steps % s.eval_every == 0:
            record_evaluation()
        if progress is not None:
            progress(1)
        return finished()

    # Train mode: the scripted human of train.yaml, or one who never takes over.
    human = make_human(task, 'when_off_track' if s.interventions else 'none', s.seed,
                       off_track_distance=s.off_track_distance,
                       stuck_steps=s.stuck_steps, stuck_progress=s.stuck_progress,
                       probability=s.intervention_probability, decay=s.intervention_decay)
    train_config = EpisodeConfig(fps=FPS, control_time_s=s.control_time_s,
                                 intervention_penalty=s.intervention_penalty)
    record_evaluation()
    while not finished():
        episode = run_episode(task, human, train_config,
                              layout_seed(s.seed, 1, result.episodes), result.episodes,
                              policy_of(agent, deterministic=False), on_step=learn)
        result.episodes += 1
        result.intervention_steps += episode.intervention_steps
    return result


def steps_to_reach(curve: List[Tuple[int, float]], target: float) -> Optional[int]:
    """Return the steps of the first point of ``curve`` at or above ``target`` (None: none)."""
    return next((steps for steps, rate in curve if rate >= target), None)
