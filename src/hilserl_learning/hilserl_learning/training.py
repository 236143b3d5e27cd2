"""
Training loops: offline pretraining on demonstrations, then online fine-tuning.

Typical learner flow::

    agent = SACAgent(config)
    fit_normalizer(agent, demo_buffer)                       # state statistics from demos
    pretrain_offline(agent, demo_buffer, num_updates=2000)   # demonstrations only
    save_checkpoint(agent, 'pretrained')
    ...                                                      # later, online:
    agent, _ = load_checkpoint('pretrained')
    while running:
        add_transition(online, demo_buffer, intervention=..., **step)   # from the actor
        online_step(agent, online, demo_buffer, batch_size=256)         # 50/50 RLPD batches
"""

from typing import Callable, Dict, Optional

from .agent import Metrics, SACAgent
from .replay_buffer import ReplayBuffer, sample_mixed


def fit_normalizer(agent: SACAgent, demonstrations: ReplayBuffer) -> None:
    """Set the agent's state normaliser from every state stored in the demonstration buffer."""
    agent.normalizer.fit(demonstrations.states())


def pretrain_offline(agent: SACAgent, demonstrations: ReplayBuffer, num_updates: int,
                     batch_size: int = 256,
                     log_fn: Optional[Callable[[int, Metrics], None]] = None,
                     log_every: int = 100) -> Metrics:
    """
    Run `num_updates` learner steps sampling only the demonstration buffer.

    Each step is ``agent.update`` (critic_updates_per_learner_step critic updates plus
    scheduled actor updates).
    Returns the metrics of the last step; `log_fn(step, metrics)` is called every
    `log_every` steps.
    """
    metrics: Metrics = {}
    for step in range(1, num_updates + 1):
        metrics = agent.update(lambda: demonstrations.sample(batch_size))
        if log_fn is not None and step % log_every == 0:
            log_fn(step, metrics)
    return metrics


def online_step(agent: SACAgent, online: ReplayBuffer, demonstrations: ReplayBuffer,
                batch_size: int = 256) -> Dict[str, float]:
    """Run one online learner step on batches mixed 50/50 from online and demo data."""
    return agent.update(lambda: sample_mixed(online, demonstrations, batch_size))
