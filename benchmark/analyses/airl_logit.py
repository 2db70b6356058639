"""Where AIRL's discriminator wins: its logit f - log pi split into the learned f and the
policy's own log-density.

AIRL's D(s, a, s') = sigmoid(f(s, s') - log pi(a|s)) (algorithms/airl.py): the policy's density
is part of the classifier, and nothing is learned in it. From a run's last checkpoint (in the
runs folder beside the record; the reference records keep none), on the expert pairs the run
learned from and on pairs its final policy samples afresh (stochastic actions), this prints per
class the mean of f, of -log pi and of the logit, and the share the discriminator classifies
right; then how well each part alone separates the two classes (balanced accuracy of the best
threshold on it). Where -log pi alone separates them about as well as the logit, the classes
differ in the policy's density and f, the reward's learned part, has little to do.
"""

import numpy as np
import torch

from algorithms.airl import AIRLDiscriminator
from algorithms.errors import UserInputError
from algorithms.gail_ppo import transitions
from algorithms.rollout import Sampler
from benchmark.analyses import _common
from benchmark.training import single_threaded


def separation(expert: np.ndarray, policy: np.ndarray) -> float:
    """Balanced accuracy of the best single threshold on a value, either side up."""
    thresholds = np.concatenate([expert, policy])
    expert_below = np.searchsorted(np.sort(expert), thresholds, side="right") / len(expert)
    policy_below = np.searchsorted(np.sort(policy), thresholds, side="right") / len(policy)
    accuracy = 0.5 * ((1 - expert_below) + policy_below)
    return float(max(accuracy.max(), (1 - accuracy).max()))


def parts(trainer, source) -> tuple[np.ndarray, np.ndarray]:
    """(f, -log pi) of every transition of `source` under the trainer's current nets."""
    t = {k: v.float() if v.is_floating_point() else v for k, v in transitions(source).items()}
    with torch.no_grad():
        log_pi = trainer.policy.log_prob(trainer.policy.dist_params(t["obs"]), t["actions"])
        f = trainer.discriminator.f(t["obs"], t["next_obs"], t["terminal"])
    return f.numpy(), -log_pi.numpy()


def main(argv: list[str] | None = None) -> None:
    parser = _common.parser("airl_logit", __doc__)
    parser.add_argument("run", help="task/algo/nN[/sS] of an AIRL run, e.g. walker/airl/n4")
    parser.add_argument("--pairs", type=int, default=4_096, help="policy pairs to sample")
    _common.add_record_options(parser, profile="modern")
    _common.add_dataset_option(parser)
    args = parser.parse_args(argv)
    with single_threaded():
        run = _common.checkpointed(args, args.run)
        task, algo, n_traj, seed, trainer = run.task, run.algo, run.n_traj, run.seed, run.trainer
        if not isinstance(getattr(trainer, "discriminator", None), AIRLDiscriminator):
            raise UserInputError(f"{args.run} is not an AIRL run (its learner: {algo})")
        rng = np.random.default_rng(seed)
        with Sampler(task.env_id, num_envs=8, seed=20_000 + seed, num_threads=1) as envs:
            sampled = envs.collect(trainer.policy.actor(rng), min_steps=args.pairs)
        f_e, nlp_e = parts(trainer, trainer.expert)
        f_p, nlp_p = parts(trainer, sampled)
    classes = []
    for name, f, nlp, expert_side in (("expert", f_e, nlp_e, True), ("policy", f_p, nlp_p, False)):
        logit = f + nlp
        right = (logit > 0) if expert_side else (logit <= 0)
        classes.append(
            f"{name} pairs ({len(f)}): f {f.mean():.2f}, -log pi {nlp.mean():.2f}, "
            f"logit {logit.mean():.2f}, right {right.mean():.0%}"
        )
    print(
        f"{task.name}/{algo}/n{n_traj}/s{seed} at iteration {trainer.iteration}: "
        + "; ".join(classes)
        + f"; separated by the logit {separation(f_e + nlp_e, f_p + nlp_p):.0%}, "
        f"by -log pi alone {separation(nlp_e, nlp_p):.0%}, by f alone {separation(f_e, f_p):.0%}"
    )
