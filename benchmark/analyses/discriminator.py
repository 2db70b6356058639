"""How far GAIL's discriminator won: its accuracy, the episodes' lengths, the batches' returns.

Per dataset size of a task's GAIL runs, from `metrics.csv`: the discriminator's lowest and median
accuracy on the policy's pairs after an iteration (`losses/discriminator_policy_accuracy`) and
the median of its logistic loss (`losses/discriminator_loss`; log 2 = 0.693 is a discriminator
that says 1/2 to every pair, whatever its accuracy reads); the shortest, longest and last mean
episode length after it (`charts/episode_length`); the lowest and highest batch normalised
return over the whole run (`charts/normalized_return`) and, with --at, its value at chosen
iterations. A discriminator near 100% makes the reward -log(1 - D) nearly 0
everywhere: the policy is paid nothing for staying up.
"""

from benchmark.analyses import _common
from benchmark.tasks import get_task


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("discriminator", __doc__)
    parser.add_argument("--task", default="ant")
    parser.add_argument("--algo", default="gail", help="a GAIL learner or variant")
    parser.add_argument("--sizes", type=int, nargs="*", help="default: the task's dataset sizes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--after", type=int, default=10, help="skip the first iterations")
    parser.add_argument("--at", type=int, nargs="*", default=[], help="iterations to print")
    _common.add_record_options(parser)
    args = parser.parse_args(argv)
    task = get_task(args.task)
    for n_traj in args.sizes or task.dataset_sizes:
        folder = _common.done_record(args, task.name, args.algo, n_traj, args.seed)
        metrics = _common.metrics(folder)
        later = metrics.loc[args.after + 1 :]
        accuracy = later["losses/discriminator_policy_accuracy"]
        loss = later["losses/discriminator_loss"]
        length = later["charts/episode_length"]
        curve = metrics["charts/normalized_return"]
        line = (
            f"{task.name}/{args.algo}/n{n_traj}/s{args.seed}: after iteration {args.after}, "
            f"policy accuracy lowest {accuracy.min():.3f}, median {accuracy.median():.3f}; "
            f"loss median {loss.median():.6f}; "
            f"episode length {length.min():.0f} to {length.max():.0f}, last {length.iloc[-1]:.0f}; "
            f"batch normalised return {curve.min():.3f} to {curve.max():.3f}"
        )
        if args.at:
            line += " (" + ", ".join(f"at {i}: {curve.loc[i]:.2f}" for i in args.at) + ")"
        print(line)
