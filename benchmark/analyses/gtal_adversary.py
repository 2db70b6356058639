"""What GTAL's adversary asks of the policy at the end, and what it pays for it.

GTAL's cost puts its whole weight on one coordinate j of psi = [phi, -phi] (algorithms/gtal.py):
the reward is psi_j / dim(psi) minus a shift, the lowest raw reward seen so far, so that every
step alive earns something. From a run's last checkpoint (in the runs folder beside the record;
the reference records keep none), on the expert pairs the run learned from and on pairs its final
policy samples afresh (stochastic actions), this prints the coordinate (phi's names: `obs[i]` is
observation i standardised with the expert data's statistics), the policy's shortfall there
(its mean of psi_j minus the expert's, in those standard units), the learned reward a step on
each and the policy's share of the expert's, and the same share under the task's own reward
(the expert's from its dataset's episodes). A policy that earns most of the expert's learned
reward a step while earning little of its task reward is paid well for staying where it is.
"""

import numpy as np

from algorithms.errors import UserInputError
from algorithms.gtal import GTALReward
from algorithms.rollout import Sampler
from benchmark.analyses import _common
from benchmark.training import single_threaded


def coordinate_name(reward: GTALReward) -> str:
    names = reward.features.names()
    j = reward.coordinate
    return f"+{names[j]}" if j < len(names) else f"-{names[j - len(names)]}"


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("gtal_adversary", __doc__)
    parser.add_argument("run", help="task/algo/nN[/sS] of a GTAL run, e.g. hopper/gtal/n18")
    parser.add_argument("--pairs", type=int, default=10_000, help="policy pairs to sample")
    _common.add_record_options(parser)
    _common.add_dataset_option(parser)
    args = parser.parse_args(argv)
    with single_threaded():
        run = _common.checkpointed(args, args.run)
        task, algo, n_traj, seed, trainer = run.task, run.algo, run.n_traj, run.seed, run.trainer
        reward = getattr(trainer, "reward_model", None)
        if not isinstance(reward, GTALReward):
            raise UserInputError(f"{args.run} is not a GTAL run (its learner: {algo})")
        rng = np.random.default_rng(seed)
        with Sampler(task.env_id, num_envs=8, seed=20_000 + seed, num_threads=1) as envs:
            sampled = envs.collect(trainer.policy.actor(rng), min_steps=args.pairs)
    j = reward.coordinate
    shortfall = reward.psi(sampled.obs, sampled.actions)[:, j].mean() - reward.expert_mean[j]
    learned_expert = reward.reward(trainer.expert).mean()
    learned_policy = reward.reward(sampled).mean()
    lengths = np.asarray(run.dataset.card["lengths"][:n_traj])
    task_expert = np.sum(run.dataset.card["returns"][:n_traj]) / lengths.sum()
    task_policy = sampled.rewards.mean()
    print(
        f"{task.name}/{algo}/n{n_traj}/s{seed} at iteration {trainer.iteration}: cost on "
        f"{coordinate_name(reward)}, shift {reward.shift:.3f}; the policy's shortfall there "
        f"{shortfall:.2f}; learned reward a step: expert {learned_expert:.3f}, policy "
        f"{learned_policy:.3f} ({learned_policy / learned_expert:.0%}); task reward a step: "
        f"expert {task_expert:.2f}, policy {task_policy:.2f} ({task_policy / task_expert:.0%}); "
        f"the policy's episodes {sampled.lengths.mean():.0f} steps on average"
    )
