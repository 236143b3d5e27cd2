"""Gymnasium environments as arms (hilserl.sim.gym): observations, actions, files, graphs."""

import os

import gymnasium
from gymnasium import spaces
from hilserl.sim.gym.env_file import environment_file_path, load_environment
from hilserl.sim.gym.environment import (ActionMap, describe, EnvArm, EnvError, EnvSettings,
                                         flatten_observation, StepError)
from hilserl.launching.graph import GraphError
from hilserl.launching.modes import MODES
import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
GYM_FILE = os.path.join(ROOT, 'config', 'environments', 'gym.yaml')


class CameraReach(gymnasium.Env):
    """A point that moves by its 4-value action; an image and a goal in a dict observation."""

    def __init__(self):
        self.observation_space = spaces.Dict({
            'pixels': spaces.Dict({'Top View': spaces.Box(0, 255, (8, 6, 3), np.uint8)}),
            'agent': spaces.Box(-1.0, 1.0, (3,), np.float32),
            'goal': spaces.Box(-1.0, 1.0, (3,), np.float32)})
        self.action_space = spaces.Box(np.array([-0.1, -0.1, -0.1, 0.0], np.float32),
                                       np.array([0.1, 0.1, 0.1, 2.0], np.float32))
        self.point = np.zeros(3)
        self.grip = 0.0

    def _observation(self):
        image = np.full((8, 6, 3), int(127 * (self.point[0] + 1)), np.uint8)
        return {'pixels': {'Top View': image}, 'agent': self.point.astype(np.float32),
                'goal': np.array([0.3, 0.0, 0.0], np.float32)}

    def reset(self, seed=None, options=None):
        super().reset(seed=seed)
        self.point = np.zeros(3)
        return self._observation(), {}

    def step(self, action):
        self.point = self.point + np.asarray(action[:3], float)
        self.grip = float(action[3])
        success = self.point[0] >= 0.3 - 1e-6
        out = bool(abs(self.point[1]) > 0.5)
        return (self._observation(), float(success), bool(success or out), False,
                {'is_success': success})


gymnasium.register('hilserl_test/CameraReach-v0', entry_point=CameraReach)


class BrokenStep(CameraReach):
    """An env whose own step fails, as gym-hil 0.1.14's does with MuJoCo 3.17."""

    def step(self, action):
        raise AttributeError("'MjData' object has no attribute 'qM'")


gymnasium.register('hilserl_test/BrokenStep-v0', entry_point=BrokenStep)


def test_a_dict_observation_becomes_named_entries_and_frames():
    state, frames = flatten_observation({'a': np.array([1.0, 2.0]), 'b': {'c': 3.0},
                                         'pixels': {'Top View': np.zeros((4, 5, 3), np.uint8)}})
    assert state == {'a.0': 1.0, 'a.1': 2.0, 'b.c.0': 3.0}
    assert list(frames) == ['top_view'] and frames['top_view'].shape == (4, 5, 3)
    state, frames = flatten_observation(np.array([0.5, -0.5]))
    assert state == {'obs.0': 0.5, 'obs.1': -0.5} and frames == {}


def test_the_suite_action_is_mapped_scaled_and_clipped_onto_the_box():
    box = spaces.Box(np.array([-2.0, 0.0, -1.0], np.float32),
                     np.array([2.0, 2.0, 1.0], np.float32))
    actions = ActionMap(box, ('dx', '-gripper', 'zero'), (0.5, 1.0, 1.0))
    assert actions([1.0, 0.0, 0.0, -1.0]).tolist() == [1.0, 2.0, 0.0]
    assert actions([5.0, 0.0, 0.0, 1.0]).tolist() == [1.0, 0.0, 0.0]   # clipped to [-1, 1]
    # Without a map the first n suite values; an unbounded Box takes them as they are.
    free = ActionMap(spaces.Box(-np.inf, np.inf, (2,)))
    assert free([0.3, -0.2, 1.0, 1.0]).tolist() == pytest.approx([0.3, -0.2])


@pytest.mark.parametrize('action, scale, message', [
    ((), (), "has 7 values; the suite's is [dx, dy, dz, gripper]: give an action map"),
    (('dx', 'dy'), (), 'has 7 values; the action map gives 2'),
    (('dx', 'dy', 'dz', 'zero', 'zero', 'zero', 'grip'), (), "'grip' is not one of"),
    (('dx', 'dy', 'dz', 'zero', 'zero', 'zero', 'gripper'), (1.0,), 'action_scale has 1'),
])
def test_an_action_map_that_does_not_fit_is_refused(action, scale, message):
    with pytest.raises(EnvError) as error:
        ActionMap(spaces.Box(-1.0, 1.0, (7,)), action, scale, 'my_env')
    assert message in str(error.value)


def test_a_custom_env_steps_with_suite_actions_and_reports_success():
    arm = EnvArm(EnvSettings('hilserl_test/CameraReach-v0', gripper='agent.2',
                             tcp_position=('agent.0', 'agent.1', 'goal.2')))
    first = arm.reset(seed=3)
    layout = arm.layout
    assert layout.joints == ('goal.0', 'goal.1')
    assert layout.cameras == ('top_view',) and layout.observed_images
    assert layout.image_sizes == {'top_view': (6, 8)}
    assert arm.joint_positions(first) == pytest.approx([0.3, 0.0, 0.0])
    step = arm.step([1.0, 0.0, 0.0, 1.0])   # +0.1 in x, gripper at the Box's top
    assert arm.tcp_position(step) == pytest.approx((0.1, 0.0, 0.0))
    assert arm.env.unwrapped.grip == pytest.approx(2.0)
    assert not step.success and not step.terminated
    step = arm.step([1.0, 0.0, 0.0, 0.0])
    step = arm.step([1.0, 0.0, 0.0, 0.0])
    assert step.success and step.terminated and step.reward == 1.0
    assert step.frames['top_view'][0, 0, 0] == int(127 * 1.3)
    arm.close()


def test_an_env_without_images_renders_or_is_described_without_cameras():
    # Pendulum renders through pygame, which the suite does not install.
    layout = describe(EnvSettings('Pendulum-v1'))
    assert layout.entries == ('obs.0', 'obs.1', 'obs.2') and layout.action_size == 1
    assert layout.gripper == 'gripper' and layout.tcp_position == ()


def test_an_unknown_id_or_gripper_entry_is_one_clear_error():
    with pytest.raises(EnvError, match="Nope-v0: Environment `Nope` doesn't exist"):
        EnvArm(EnvSettings('Nope-v0'))
    with pytest.raises(EnvError, match="has no state entry obs.7; its entries are obs.0"):
        describe(EnvSettings('Pendulum-v1', gripper='obs.7'), cameras=False)


def test_gym_hil_pick_cube_in_its_state_and_image_variants():
    state = load_environment(GYM_FILE, 'pick_cube').layout
    assert len(state.entries) == 21 and state.gripper == 'agent_pos.14'
    assert 'environment_state.0' in state.joints and state.cameras == ('front', 'wrist')
    assert not state.observed_images and state.action_size == 7
    images = load_environment(GYM_FILE, 'pick_cube_images').layout
    assert images.observed_images and images.cameras == ('front', 'wrist')
    assert images.image_sizes['front'] == (128, 128)
    assert 'environment_state.0' not in images.entries


def test_panda_gym_reach_is_reached_by_suite_commands_and_rendered_headless():
    # PyBullet's TinyRenderer draws the front camera without a display.
    arm = EnvArm(load_environment(GYM_FILE, 'panda_reach').settings)
    step = arm.reset(seed=1)
    assert arm.layout.tcp_position == ('observation.0', 'observation.1', 'observation.2')
    assert arm.layout.joints[-3:] == ('desired_goal.0', 'desired_goal.1', 'desired_goal.2')
    assert arm.layout.cameras == ('front',) and step.frames['front'].shape == (128, 128, 3)
    assert step.frames['front'].std() > 10   # a scene, not a blank frame
    goal = np.array([step.state[f'desired_goal.{i}'] for i in range(3)])
    for _ in range(40):   # a proportional controller: 5 cm per full command
        delta = np.clip((goal - np.array(arm.tcp_position(step))) / 0.05, -1.0, 1.0)
        step = arm.step([*delta, 0.0])
        if step.terminated:
            break
    assert step.success and step.terminated and step.reward == 0.0
    assert np.linalg.norm(goal - np.array(arm.tcp_position(step))) < 0.05
    arm.close()
    pick = load_environment(GYM_FILE, 'PandaPickAndPlace-v3')
    layout = pick.layout
    assert pick.entry == 'panda_pick_and_place' and layout.action_size == 4
    assert layout.gripper == 'observation.6' and len(layout.entries) == 25


def test_the_environment_file_picks_by_name_or_id_and_names_bad_fields(tmp_path):
    assert environment_file_path('gym', os.path.dirname(GYM_FILE)) == GYM_FILE
    assert environment_file_path(GYM_FILE) == GYM_FILE
    assert load_environment(GYM_FILE).entry == 'panda_reach'
    assert load_environment(GYM_FILE, 'gym_hil/PandaPickCube-v0').entry == 'pick_cube_wrapped'
    other = load_environment(GYM_FILE, 'Pendulum-v1')
    assert other.entry == '' and other.settings == EnvSettings('Pendulum-v1')
    path = tmp_path / 'mine.yaml'
    path.write_text('environment: a\nenvironments:\n  a: {id: X-v0, actoin: [dx]}\n')
    with pytest.raises(EnvError, match=r'mine.yaml: environments.a.actoin: unknown field'):
        load_environment(str(path))


def test_train_mode_builds_the_environment_graph():
    nodes = MODES['train'].nodes({'robot': GYM_FILE, 'env': 'Pendulum-v1', 'teleop': 'none',
                                  'run_dir': '/tmp/x'})
    assert [spec.executable for spec in nodes] == ['gym_env', 'actor', 'learner']
    environment, actor, learner = nodes
    assert environment.parameters['env_id'] == 'Pendulum-v1'
    assert not environment.parameters['render_cameras_enabled']
    assert actor.parameters['arm_joint_names'] == ['obs.0', 'obs.1', 'obs.2']
    assert not actor.parameters['use_cameras']
    assert not actor.parameters['state_from_ground_truth']
    names = learner.parameters['state_names']
    assert names[:4] == ['joint.obs.0', 'joint.obs.1', 'joint.obs.2', 'gripper']
    with pytest.raises(GraphError, match='teleop:=scripted needs the suite'):
        MODES['train'].nodes({'robot': GYM_FILE, 'env': 'Pendulum-v1'})
    with pytest.raises(GraphError, match='has no image observation and renders no frame'):
        MODES['train'].nodes({'robot': GYM_FILE, 'env': 'Pendulum-v1', 'teleop': 'none',
                              'policy_inputs': 'images'})
    with pytest.raises(GraphError, match='play the arm in train and record mode, not in sim'):
        MODES['sim'].nodes({'robot': GYM_FILE})
    with pytest.raises(GraphError, match='env:=Pendulum-v1 needs an environment file'):
        MODES['train'].nodes({'robot': 'panda', 'env': 'Pendulum-v1', 'teleop': 'none'})


def test_record_mode_builds_the_environment_graph_with_a_human():
    nodes = MODES['record'].nodes({'robot': GYM_FILE, 'env': 'Pendulum-v1',
                                   'teleop': 'keyboard'})
    assert [spec.executable for spec in nodes] == ['gym_env', 'episode_recorder']
    recorder = nodes[-1].parameters
    assert recorder['arm_node'] == 'gym_env' and not recorder['state_from_ground_truth']
    assert recorder['arm_joint_names'] == ['obs.0', 'obs.1', 'obs.2']
    with pytest.raises(GraphError, match='an environment need keyboard, gamepad or leader'):
        MODES['record'].nodes({'robot': GYM_FILE, 'env': 'Pendulum-v1'})
    with pytest.raises(GraphError, match='teleop:=leader needs a real arm.s robot file'):
        MODES['record'].nodes({'robot': GYM_FILE, 'env': 'Pendulum-v1', 'teleop': 'leader'})


def test_a_failing_env_step_is_one_line_naming_the_env():
    arm = EnvArm(EnvSettings('hilserl_test/BrokenStep-v0'))
    arm.reset(seed=0)
    with pytest.raises(StepError, match=r"^hilserl_test/BrokenStep-v0: env.step failed: "
                                        r"AttributeError: 'MjData' object has no attribute"):
        arm.step([0.0, 0.0, 0.0, 0.0])
