"""BC's best validation error against the variance of the expert's actions it learns from.

For continuous actions BC validates by the squared error of its mean action, summed over the
action's dimensions (`losses/validation_score` is its negative). Beside the best validation score
and the step where it came (from the run's `metrics.csv`), this prints the variance of the expert's
actions in the pairs the run learned from, summed the same way: an error near that variance means
BC recovered little of the expert's mean action (noisy expert actions, too few pairs).
"""

from benchmark.analyses import _common
from benchmark.tasks import get_task


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("bc_validation", __doc__)
    parser.add_argument("--task", default="humanoid")
    parser.add_argument("--sizes", type=int, nargs="*", help="default: the task's dataset sizes")
    parser.add_argument("--seed", type=int, default=0)
    _common.add_record_options(parser)
    _common.add_dataset_option(parser)
    args = parser.parse_args(argv)
    task = get_task(args.task)
    for n_traj in args.sizes or task.dataset_sizes:
        folder = _common.done_record(args, task.name, "bc", n_traj, args.seed)
        dataset = _common.run_dataset(args, folder, task)
        metrics = _common.metrics(folder)
        scores = metrics["losses/validation_score"]
        best = scores.idxmax()
        variance = dataset.expert_pairs(n_traj).actions.var(0).sum()
        print(
            f"{task.name}/bc/n{n_traj}/s{args.seed}: best validation score {scores[best]:.2f} at "
            f"step {metrics.loc[best, 'step']:.0f} (last {scores.iloc[-1]:.2f} at step "
            f"{metrics['step'].iloc[-1]:.0f}); expert actions' variance, summed {variance:.2f}"
        )
