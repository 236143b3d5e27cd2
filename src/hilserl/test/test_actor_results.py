"""RunResults: per-episode totals and results, the run's summary and its evaluation file."""

import json

from hilserl.actor.results import evaluation_summary, RunResults
from hilserl.actor.reward_check import RewardCheck


def test_evaluation_summary():
    summary = evaluation_summary([{'success': True}, {'success': False}, {'success': True},
                                  {'success': True}])
    assert summary['episodes'] == 4 and summary['successes'] == 3
    assert summary['success_rate'] == 0.75 and len(summary['per_episode']) == 4
    assert evaluation_summary([])['success_rate'] == 0.0


def test_episodes_are_summed_and_the_run_written_to_the_evaluation_file(tmp_path):
    results = RunResults()
    for episode, (rewards, success) in enumerate((([0.0, 0.0, 1.0], True), ([0.0], False))):
        results.start_episode()
        for step, reward in enumerate(rewards):
            results.add_step(reward, intervention=step == 0)
        result, checked = results.end_episode(episode, len(rewards), success,
                                              'success' if success else 'time limit', 7)
        assert checked == {} and result['intervention_steps'] == 1
    assert [r['episodic_reward'] for r in results.episodes] == [1.0, 0.0]
    path = tmp_path / 'sub' / 'eval.json'
    lines = results.finish(str(path), actor_id='actor', deterministic=True)
    assert lines[0] == 'success rate 0.500 (1/2 episodes)'
    assert lines[-1] == f'results written to {path}'
    written = json.loads(path.read_text())
    assert written['success_rate'] == 0.5 and written['actor_id'] == 'actor'
    assert written['per_episode'][0]['policy_version'] == 7


def test_a_checked_run_carries_the_classifier_counts_and_figures():
    check = RewardCheck()
    results = RunResults(check)
    results.start_episode()
    check.decision(True)
    check.tick(False, True, None)
    result, checked = results.end_episode(0, 1, True, 'success', 1)
    assert set(checked) <= set(result) and 'classifier_fp' in checked
    lines = results.finish()
    assert len(lines) == 2 and 'ground truth success rate' in lines[1]
