"""BC's best-validated snapshot against its last one: retrains BC runs, evaluates both.

BC returns the snapshot with the best validation score (the protocol's rule). With very few
expert pairs the validation set is tiny, and the best snapshot may be an early, nearly untrained
one. This retrains each seed's run exactly as the profile does (same config, same seed), then
evaluates the best snapshot and the last one as a run's evaluation does (deterministic actions,
environments seeded by 10,000 + the seed), and prints per seed: the split of the expert pairs,
the best snapshot's step, and the mean return (normalised) of each.
"""

import numpy as np

from algorithms.registry import LEARNERS
from benchmark.analyses import _common
from benchmark.datasets import load_dataset
from benchmark.experts import evaluate
from benchmark.profiles import load_profile
from benchmark.tasks import get_task
from benchmark.training import single_threaded


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("bc_snapshots", __doc__)
    parser.add_argument("--task", default="acrobot")
    parser.add_argument("--n-traj", type=int, default=1)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--profile", default="standard", help="whose BC budget (default standard)")
    parser.add_argument("--episodes", type=int, default=50, help="evaluation episodes")
    args = parser.parse_args(argv)
    task, profile = get_task(args.task), load_profile(args.profile)
    dataset = load_dataset(task, profile.datasets_dir)
    expert, cfg = dataset.expert_pairs(args.n_traj), profile.config("bc", task)
    print(
        f"{task.name}, BC with {args.n_traj} trajectories ({len(expert)} expert pairs), "
        f"{cfg.steps} steps, validation every {cfg.validate_every}"
    )
    for seed in args.seeds:
        with single_threaded():
            trainer = LEARNERS["bc"].make(task, expert, cfg, seed)
            history = [trainer.iterate() for _ in range(trainer.iterations)]
            scores = [row["losses/validation_score"] for row in history]
            best_step = history[int(np.argmax(scores))]["step"]
            returns = [
                evaluate(p, task, args.episodes, seed=10_000 + seed, deterministic=True)
                for p in (trainer.final_policy(), trainer.policy)
            ]
        best, last = (r["mean_return"] for r in returns)
        print(
            f"seed {seed}: {len(trainer.train_idx)} pairs to train, {len(trainer.valid_idx)} to "
            f"validate; best snapshot at step {best_step}: {best:.1f} "
            f"({dataset.normalize(best):.2f}); last: {last:.1f} ({dataset.normalize(last):.2f})"
        )
