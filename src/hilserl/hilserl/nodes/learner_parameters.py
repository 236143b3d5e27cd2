"""
The learner node's parameters: declared with their descriptions, checked, in one record.

Every tunable :class:`hilserl_learning.AgentConfig` field is declared as ``agent.<field>``
with the docstring under its definition as the description. A parameter file or command
line that sets a parameter by its old name (:data:`RENAMED_PARAMETERS`) is refused with
the new name.
"""

import ast
from dataclasses import dataclass
import inspect
import typing
from typing import Any, Dict, List

from hilserl_learning import AgentConfig, config as agent_config_module
from hilserl_learning.config import RENAMED_FIELDS
from rclpy.node import Node
from rclpy.parameter import Parameter
import torch

from hilserl.learner.core import DATA_FIELDS, LearnerSettings
from hilserl_common.node_support import declare

_OPTIONAL_TYPES = {str: Parameter.Type.STRING, int: Parameter.Type.INTEGER,
                   float: Parameter.Type.DOUBLE}
# Parameters renamed since earlier releases: old name -> new name.
RENAMED_PARAMETERS = {
    'max_updates_per_step': 'updates_per_step',
    'policy_parameters_push_frequency': 'policy_push_period_s',
    **{f'agent.{old}': f'agent.{new}' for old, new in RENAMED_FIELDS.items()}}


@dataclass(frozen=True)
class LearnerParameters:
    """What a learner was configured with (see each parameter's description)."""

    settings: LearnerSettings
    resume: bool
    demo_datasets: List[str]
    push_period_s: float
    ack_period_s: float
    status_period_s: float
    max_update_rate_hz: float
    torch_threads: int
    use_wandb: bool
    learn: bool


def refuse_renamed_parameters(node: Node, renamed: Dict[str, str]) -> None:
    """
    Raise ValueError when a parameter file or ``-p`` sets a parameter by an old name.

    ``renamed`` maps each old name to the new one; rclpy would otherwise ignore the old,
    undeclared name without a word, and the node would run on the default.
    """
    given = sorted(old for old in renamed if old in node._parameter_overrides)
    if given:
        raise ValueError('renamed parameter(s): ' + ', '.join(
            f"'{old}' is now '{renamed[old]}'" for old in given))


def agent_field_docs() -> Dict[str, str]:
    """Return each AgentConfig field's docstring (the string under its definition)."""
    try:
        tree = ast.parse(inspect.getsource(agent_config_module))
    except (OSError, TypeError, SyntaxError):
        return {}
    docs = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == 'AgentConfig':
            for field, doc in zip(node.body, node.body[1:]):
                if (isinstance(field, ast.AnnAssign) and isinstance(doc, ast.Expr)
                        and isinstance(doc.value, ast.Constant)):
                    docs[field.target.id] = str(doc.value.value)
    return docs


def declare_agent_config(node: Node) -> AgentConfig:
    """Declare ``agent.<field>`` for every tunable AgentConfig field; return the config."""
    docs = agent_field_docs()
    hints = typing.get_type_hints(AgentConfig)
    values: Dict[str, Any] = {}
    for field, default in AgentConfig().to_dict().items():
        if field in DATA_FIELDS:
            continue
        hint = hints[field]
        optional = type(None) in typing.get_args(hint)
        base = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
        doc = docs.get(field, field)
        if default is None:
            declared = _OPTIONAL_TYPES[base]
            doc += ' Unset: None.'
        elif optional:
            declared = default
            doc += ' 0 or less: None.'
        else:
            declared = default
        value = declare(node, f'agent.{field}', declared, doc)
        if optional and isinstance(value, (int, float)) and default is not None and value <= 0:
            value = None
        if value == '' and optional:
            value = None
        values[field] = value
    return AgentConfig(**values)


def declare_learner_parameters(node: Node) -> LearnerParameters:
    """Declare the learner's parameters on ``node``; raise ValueError for a bad value."""
    refuse_renamed_parameters(node, RENAMED_PARAMETERS)
    run_dir = declare(node, 'run_dir', '', 'Directory of this run: checkpoints, the '
                      'transition log, metrics CSV files and plots.')
    resume = declare(node, 'resume', False, 'Continue the run in run_dir from its latest '
                     'checkpoint and transition log (it must have a checkpoint).')
    device = declare(node, 'device', 'cpu', "Torch device of the networks ('cpu', 'cuda').")
    storage_device = declare(node, 'storage_device', 'cpu',
                             "Where replay buffers live; only 'cpu' (batches are moved "
                             'to device).')
    demos = declare(node, 'demo_datasets', Parameter.Type.STRING_ARRAY,
                    'Recorded datasets or episode bags for the demonstration buffer '
                    '(fresh runs only; a resumed run has them in its checkpoint).') or []
    cameras = declare(node, 'camera_names', Parameter.Type.STRING_ARRAY,
                      'Cameras the learner expects, in order; unset: those of the demos '
                      'or of the first transition.')
    state_names = declare(node, 'state_names', Parameter.Type.STRING_ARRAY,
                          'The state entries the policy gets, in order (train mode sets '
                          'them from the arm and object_in_state); demonstrations give '
                          'these columns, whatever else they recorded. Unset: the '
                          'state of the demos or of the first transition.')
    if not declare(node, 'use_cameras', True, 'false: a state-only policy; the camera '
                   'frames of demonstrations and transitions are ignored.'):
        cameras = []
    encoder = declare(node, 'image_encoder', 'frozen',
                      "'frozen': cached features of a frozen ResNet-10; 'cnn': small CNN "
                      'trained end to end.')
    settings = LearnerSettings(
        run_dir=run_dir, camera_names=cameras, state_names=state_names or None,
        device=device,
        agent=declare_agent_config(node),
        batch_size=declare(node, 'batch_size', 256, 'Steps per batch (half online, '
                           'half demonstrations).'),
        online_step_before_learning=declare(
            node, 'online_step_before_learning', 100,
            'Online steps to collect before the first update.'),
        updates_per_step=declare(
            node, 'updates_per_step', 0,
            'Learner steps per online step received, at most (the update-to-data '
            'ratio; each runs agent.critic_updates_per_learner_step critic updates; '
            '0: as many as the machine runs).'),
        checkpoint_every_updates=declare(node, 'checkpoint_every_updates', 1000,
                                         'Learner steps between checkpoints.'),
        online_capacity=declare(node, 'online_buffer_capacity', 200_000,
                                'Rows (frames) of the online replay buffer.'),
        offline_capacity=declare(node, 'offline_buffer_capacity', 50_000,
                                 'Rows of the demonstration buffer (demos and '
                                 'interventions).'),
        offline_pretrain_updates=declare(node, 'offline_pretrain_updates', 0,
                                         'Learner steps on demonstrations alone before '
                                         'going online (fresh runs).'),
        seed=declare(node, 'seed', 0, 'Seed of the network initialisation and sampling.'))
    settings.agent.image_encoder = encoder
    p = LearnerParameters(
        settings=settings, resume=resume, demo_datasets=demos,
        push_period_s=declare(node, 'policy_push_period_s', 4.0,
                              'Seconds between two policy pushes (a push happens '
                              'only when the policy changed).'),
        ack_period_s=declare(node, 'ack_period_s', 0.2, 'Seconds between acknowledgements.'),
        status_period_s=declare(node, 'status_period_s', 5.0,
                                'Seconds between status lines and learner metrics rows.'),
        max_update_rate_hz=declare(node, 'max_update_rate_hz', 0.0,
                                   'Most learner steps per second (0: unlimited), to '
                                   'leave CPU to actors on the same machine.'),
        torch_threads=declare(node, 'torch_threads', 0,
                              'Torch intra-op threads (0: all cores).'),
        use_wandb=declare(node, 'use_wandb', False, 'Also log metrics to Weights & Biases.'),
        learn=declare(node, 'learn', True, 'Train; false only serves the policy of '
                      'the checkpoint (evaluation runs).'))
    check(p, storage_device)
    return p


def check(p: LearnerParameters, storage_device: str) -> None:
    """Raise ValueError, saying what is wrong, for values the learner can't run with."""
    settings = p.settings
    if not settings.run_dir:
        raise ValueError('run_dir is not set (the directory for checkpoints and logs)')
    try:
        torch_device = torch.device(settings.device)
    except RuntimeError as error:
        raise ValueError(f"device '{settings.device}': {error}") from None
    if torch_device.type == 'cuda' and not torch.cuda.is_available():
        raise ValueError(f"device '{settings.device}': this torch build sees no CUDA device")
    if storage_device != 'cpu':
        raise ValueError(f"storage_device '{storage_device}' is not supported: replay "
                         "buffers live in CPU memory ('cpu')")
    AgentConfig(**{**settings.agent.to_dict(), 'num_cameras': 1})   # validates the encoder
    for name in ('batch_size', 'checkpoint_every_updates', 'online_capacity',
                 'offline_capacity'):
        if getattr(settings, name) < 1:
            raise ValueError(f'{name} must be at least 1')
    if p.ack_period_s <= 0 or p.status_period_s <= 0 or p.push_period_s <= 0:
        raise ValueError('ack_period_s, status_period_s and policy_push_period_s '
                         'must be positive')
