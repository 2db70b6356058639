"""The suite's command line: `python -m benchmark <command> ...` (the Makefile calls this)."""

import argparse
import json
import os
import select
import sys
import warnings
from pathlib import Path

from algorithms.errors import UserInputError
from benchmark import store
from benchmark.training import TrainingDiverged

RESULTS = store.RESULTS_DIR
RUNS_HELP = (
    f"records folder (default: {store.shown(store.RUNS_DIR)} where it holds the profile's runs, "
    f"else the suite's reference records in {store.shown(store.REFERENCE_DIR / 'runs')})"
)
DATASETS_HELP = (
    f"datasets folder (default: the profile's `datasets`, else {store.shown(RESULTS / 'datasets')})"
)
PROFILE_HELP = "a profile by name (see benchmark/protocols/) or the path of a .toml file"


def _count(least: int):
    """An argparse type: an integer of at least `least` (argparse then says what is wrong in one
    line and exits with 2)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < least:
            raise argparse.ArgumentTypeError(f"{value} is below {least}")
        return value

    return parse


def _folder(parser, option: str, default: Path, what: str) -> None:
    parser.add_argument(
        option, type=Path, default=default, help=f"{what} (default: {store.shown(default)})"
    )


class _Parser(argparse.ArgumentParser):
    """Bad arguments in one line (argparse's default prints the usage first), exit code 2."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m benchmark", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    _add_listings(commands)
    _add_expert_commands(commands)
    _add_dataset_commands(commands)
    _add_run_commands(commands)
    _add_report_commands(commands)
    _add_bench_commands(commands)
    _add_analyse_command(commands)
    return parser


def _add_listings(commands) -> None:
    """Subcommands: the tasks and the learners."""
    tasks = commands.add_parser("tasks", help="list the nine tasks and their protocol")
    tasks.set_defaults(func=_tasks)

    learners = commands.add_parser(
        "learners", help="the learners and every setting a profile can give them, with defaults"
    )
    learners.add_argument("--algo", help="only this learner")
    learners.set_defaults(func=_learners)


def _add_expert_commands(commands) -> None:
    """Subcommands: experts."""
    expert = commands.add_parser("expert", help="train and evaluate experts")
    expert_cmds = expert.add_subparsers(dest="expert", required=True)
    train = expert_cmds.add_parser(
        "train", help="train (or resume) a task's expert with its recipe (TRPO or SAC)"
    )
    train.add_argument("--task", required=True)
    train.add_argument("--seed", type=_count(0), default=0)
    _folder(train, "--experts", RESULTS / "experts", "experts folder")
    train.set_defaults(func=_expert_train)
    evaluate = expert_cmds.add_parser("evaluate", help="returns of a committed expert")
    evaluate.add_argument("--task", required=True)
    evaluate.add_argument("--episodes", type=_count(1), default=50)
    evaluate.add_argument("--seed", type=_count(0), default=0)
    evaluate.add_argument(
        "--deterministic", action="store_true", help="act with the mean/argmax, not by sampling"
    )
    _folder(evaluate, "--experts", RESULTS / "experts", "experts folder")
    evaluate.set_defaults(func=_expert_evaluate)
    paper = expert_cmds.add_parser(
        "import-2016",
        help="the paper's own expert of a task, from the authors' .h5 file (openai/imitation)",
    )
    paper.add_argument("--task", required=True)
    paper.add_argument("--h5", type=Path, required=True, help="the authors' file for the task")
    _folder(paper, "--experts", RESULTS / "experts", "experts folder")
    paper.set_defaults(func=_expert_import_2016)


def _add_dataset_commands(commands) -> None:
    """Subcommands: datasets."""
    dataset = commands.add_parser("dataset", help="expert datasets and random baselines")
    dataset_cmds = dataset.add_subparsers(dest="dataset", required=True)
    make = dataset_cmds.add_parser("make", help="sample a task's dataset from its committed expert")
    make.add_argument("--task", required=True, help="a task, or `all` (those with an expert)")
    make.add_argument("--seed", type=_count(0), default=0)
    make.add_argument(
        "--expert-log-std",
        type=float,
        help="sample with the expert's log-std set to this on every action dimension (a probe)",
    )
    make.add_argument(
        "--subsample-every",
        type=_count(1),
        help="keep every k-th pair (default: the task's, the paper's rate; a probe)",
    )
    _folder(make, "--experts", RESULTS / "experts", "experts folder")
    _folder(make, "--datasets", RESULTS / "datasets", "datasets folder")
    make.set_defaults(func=_dataset_make)
    check = dataset_cmds.add_parser("check", help="load and verify a task's dataset")
    check.add_argument("--task", required=True, help="a task, or `all`")
    _folder(check, "--datasets", RESULTS / "datasets", "datasets folder")
    check.set_defaults(func=_dataset_check)
    export = dataset_cmds.add_parser("export-minari", help="write a dataset as a local Minari one")
    export.add_argument("--task", required=True)
    export.add_argument(
        "--id", required=True, help="Minari dataset id, e.g. gailbench/hopper/expert-v0"
    )
    _folder(export, "--datasets", RESULTS / "datasets", "datasets folder")
    export.set_defaults(func=_dataset_export_minari)
    imp = dataset_cmds.add_parser(
        "import-minari", help="use a local Minari dataset as a task's expert dataset"
    )
    imp.add_argument("--task", required=True)
    imp.add_argument("--id", required=True, help="Minari dataset id, e.g. mujoco/hopper/expert-v0")
    _folder(imp, "--datasets", RESULTS / "datasets", "datasets folder")
    imp.set_defaults(func=_dataset_import_minari)


def _add_run_commands(commands) -> None:
    """Subcommands: runs and sweeps."""
    one = commands.add_parser("run", help="one run: train, evaluate, write its record")
    one.add_argument("--task", required=True)
    one.add_argument("--algo", required=True, help="a learner of the registry or the profile")
    one.add_argument(
        "--n-traj", type=_count(1), required=True, help="expert trajectories to learn from"
    )
    one.add_argument("--seed", type=_count(0), default=0)
    one.add_argument("--profile", default="quick", help=PROFILE_HELP)
    _folder(one, "--runs", store.RUNS_DIR, "records folder")
    one.add_argument("--datasets", type=Path, help=DATASETS_HELP)
    one.set_defaults(func=_run)

    reproduce = commands.add_parser(
        "reproduce", help="run a profile's sweep (resumes; skips done runs), then tables, figures"
    )
    reproduce.add_argument("--profile", default="quick", help=PROFILE_HELP)
    reproduce.add_argument("--executor", default="local", help="local (process pool) or ray")
    reproduce.add_argument(
        "--workers", type=_count(1), help="parallel runs (default: one per core)"
    )
    reproduce.add_argument("--dry-run", action="store_true", help="print the plan, run nothing")
    reproduce.add_argument("--tasks", nargs="+", help="only these tasks of the profile")
    reproduce.add_argument("--algos", nargs="+", help="only these algorithms of the profile")
    _folder(reproduce, "--runs", store.RUNS_DIR, "records folder")
    reproduce.add_argument("--datasets", type=Path, help=DATASETS_HELP)
    reproduce.set_defaults(func=_reproduce)

    status = commands.add_parser("status", help="the state of every run of a profile")
    status.add_argument("--profile", default="quick", help=PROFILE_HELP)
    _folder(status, "--runs", store.RUNS_DIR, "records folder")
    status.set_defaults(func=_status)

    adopt = commands.add_parser(
        "adopt",
        help="make a profile's finished runs of some tasks the reference records (maintainers)",
    )
    adopt.add_argument("--profile", required=True, help=PROFILE_HELP)
    adopt.add_argument("--tasks", nargs="+", required=True, help="tasks whose runs are all done")
    _folder(adopt, "--runs", store.RUNS_DIR, "records folder")
    adopt.set_defaults(func=_adopt)


def _add_report_commands(commands) -> None:
    """Subcommands: W&B, tables and figures."""
    sync = commands.add_parser(
        "wandb-sync", help="upload the offline W&B runs, save a W&B view per profile and task"
    )
    _folder(
        sync,
        "--runs",
        store.RUNS_DIR,
        "records folder whose W&B runs to upload (they lie in "
        "WANDB_DIR when set, else in wandb/ beside it)",
    )
    sync.set_defaults(func=_wandb_sync)

    tables = commands.add_parser(
        "tables", help="comparison, statistics and cost tables from run records (no training)"
    )
    tables.add_argument("--profile", default="quick", help=PROFILE_HELP)
    tables.add_argument("--runs", type=Path, help=RUNS_HELP)
    tables.add_argument(
        "--out", type=Path, help="writes <out>/<profile>/ (default: tables/ beside the runs)"
    )
    tables.set_defaults(func=_tables)
    figures = commands.add_parser(
        "figures", help="Figure 1 and learning curves from run records (no training)"
    )
    figures.add_argument("--profile", default="quick", help=PROFILE_HELP)
    figures.add_argument("--runs", type=Path, help=RUNS_HELP)
    figures.add_argument(
        "--out", type=Path, help="writes <out>/<profile>/ (default: figures/ beside the runs)"
    )
    figures.set_defaults(func=_figures)


def _add_bench_commands(commands) -> None:
    """Subcommands: benchmarks."""
    bench = commands.add_parser("bench", help="speed benchmarks (last line: JSON)")
    which = bench.add_subparsers(dest="bench", required=True)
    rollout = which.add_parser("rollout", help="simulator limit vs sampler vs gymnasium")
    rollout.add_argument("--task", default="Hopper-v5")
    rollout.add_argument("--num-envs", type=_count(1), default=16)
    rollout.add_argument("--steps", type=_count(1), default=150_000, help="sampler steps to time")
    rollout.add_argument("--rounds", type=_count(1), default=5)
    rollout.set_defaults(func=_bench_rollout)
    tte = which.add_parser(
        "time-to-expert", help="a learner's env steps and seconds to 0.9 normalised"
    )
    tte.add_argument("--task", default="Hopper-v5")
    tte.add_argument("--n-traj", type=_count(1), default=4)
    tte.add_argument("--profile", default="quick", help=PROFILE_HELP)
    tte.add_argument("--threshold", type=float, default=0.9)
    tte.add_argument(
        "--eval-every", type=_count(1), default=5, help="iterations between evaluations"
    )
    tte.add_argument("--seed", type=_count(0), default=0)
    tte.add_argument("--algo", default="gail", help="a learner, or a variant the profile names")
    tte.set_defaults(func=_bench_time_to_expert)
    overhead = which.add_parser(
        "overhead", help="the loop's sampling against bare MuJoCo, per env step and its split"
    )
    overhead.add_argument("--task", default="all", help="a MuJoCo task, or `all` of them")
    overhead.add_argument("--rounds", type=_count(1), default=5)
    overhead.add_argument(
        "--policy", choices=("fresh", "expert"), default="fresh", help="which policy samples"
    )
    overhead.set_defaults(func=_bench_overhead)
    speed = which.add_parser(
        "throughput", help="a single-threaded run's seconds per step: the sweep's cost estimates"
    )
    speed.add_argument("--task", default="all", help="a task, or `all` (those with a dataset)")
    speed.add_argument("--out", type=Path, default=RESULTS / "throughput.json")
    speed.add_argument(
        "--from-records",
        type=Path,
        nargs="+",
        metavar="RUNS",
        help="add each task's rates from the finished runs under RUNS (their CPU seconds over "
        "their env steps): FEM, GTAL and GAIL pooled, GAIL (PPO) and AIRL each; the plan uses "
        "them for those learners. With several folders a learner's rate on a task comes from the "
        "first that holds its finished runs there: name the records made as the plan's runs "
        "will be first",
    )
    speed.set_defaults(func=_bench_throughput)


def _add_analyse_command(commands) -> None:
    """Subcommands: the named analyses."""
    from benchmark import analyses

    listing = "\n".join(f"  {name:18s} {analyses.summary(name)}" for name in analyses.names())
    analyse = commands.add_parser(
        "analyse",
        help="run a named analysis behind a finding of docs/ (list: analyse --help)",
        description="Analyses behind the findings in docs/ (benchmark/analyses/<name>.py). "
        "`python -m benchmark analyse <name> --help` shows an analysis's own options.",
        epilog=f"analyses:\n{listing}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    analyse.add_argument("name", choices=analyses.names(), metavar="name", help="the analysis")
    analyse.add_argument("args", nargs=argparse.REMAINDER, help="its own arguments")
    analyse.set_defaults(func=_analyse)


def _analyse(args) -> None:
    from benchmark import analyses

    analyses.run(args.name, args.args)


def _tasks(args) -> None:
    from benchmark.tasks import TASKS

    for t in TASKS.values():
        print(
            f"{t.name:12s} {t.env_id:15s} sizes={list(t.dataset_sizes)} "
            f"subsample={t.subsample_every} iterations={t.iterations} "
            f"pairs/iter={t.pairs_per_iteration}  {t.notes}"
        )


def _learners(args) -> None:
    from algorithms.registry import LEARNERS
    from benchmark.settings import defaults

    if args.algo and args.algo not in LEARNERS:
        raise UserInputError(f"unknown algorithm {args.algo!r}; known: {', '.join(LEARNERS)}")
    for learner in LEARNERS.values():
        if args.algo in (None, learner.name):
            print(f"{learner.name} ({learner.label}, {learner.group}): {learner.config.__name__}")
            budget = {path: name for name, path in learner.budget.items()}
            for path, value in defaults(learner).items():
                note = f"  (set by the profile's budget: {budget[path]})" if path in budget else ""
                print(f"  {path} = {value!r}{note}")


def _expert_train(args) -> None:
    from benchmark import paper_experts
    from benchmark.experts import RECIPES, save_expert, train_expert
    from benchmark.tasks import get_task

    task = get_task(args.task)
    if task.name not in RECIPES:
        raise UserInputError(
            f"{task.name} has no expert recipe; add one to RECIPES in benchmark/experts.py "
            "(docs/extending.md shows how)"
        )
    recipe = RECIPES[task.name]
    out_dir = args.experts / task.name
    if (out_dir / "card.json").exists():
        algorithm = json.loads((out_dir / "card.json").read_text()).get("algorithm")
        if algorithm == paper_experts.ALGORITHM:
            raise UserInputError(
                f"{store.shown(out_dir)} holds the paper's own expert of {task.name} (imported "
                "from the authors' file, docs/experts.md), which training would replace; train "
                "the suite's own into another folder, e.g. --experts results/experts-suite"
            )
    policy, history = train_expert(task, recipe, out_dir, args.seed)
    card = save_expert(policy, history, task, recipe, out_dir, args.seed)
    summary = {k: card[k] for k in ("task", "env_id", "algorithm", "env_steps", "wall_s")}
    for mode in ("deterministic", "stochastic"):
        summary[f"{mode}_mean_return"] = card[mode]["mean_return"]
    print(json.dumps(summary))


def _expert_evaluate(args) -> None:
    from benchmark.experts import evaluate, load_expert
    from benchmark.tasks import get_task

    task = get_task(args.task)
    policy = load_expert(task, args.experts)
    result = evaluate(policy, task, args.episodes, args.seed, args.deterministic)
    print(json.dumps({"task": task.name, "deterministic": args.deterministic} | result))


def _expert_import_2016(args) -> None:
    from benchmark.paper_experts import import_expert
    from benchmark.tasks import get_task

    if not args.h5.is_file():
        raise UserInputError(
            f"no file at {args.h5}; take the task's .h5 from openai/imitation "
            "(benchmark/paper_experts.py names it)"
        )
    task = get_task(args.task)
    card = import_expert(task, args.h5, args.experts / task.name)
    summary = {k: card[k] for k in ("task", "env_id", "algorithm", "env_steps")}
    for mode in ("deterministic", "stochastic"):
        summary[f"{mode}_mean_return"] = card[mode]["mean_return"]
    print(json.dumps(summary | {"trained_on": card["source"]["trained_on"]}))


def _chosen_tasks(name: str):
    from benchmark.tasks import TASKS, get_task

    return list(TASKS.values()) if name == "all" else [get_task(name)]


def _dataset_make(args) -> None:
    from benchmark.datasets import make_dataset

    for task in _chosen_tasks(args.task):
        if args.task == "all" and not (args.experts / task.name / "expert.pt").exists():
            print(f"{task.name}: no committed expert yet, skipped", file=sys.stderr)
            continue
        card = make_dataset(
            task,
            args.experts,
            args.datasets,
            args.seed,
            args.expert_log_std,
            args.subsample_every,
        )
        print(json.dumps(_dataset_summary(card)))


def _dataset_check(args) -> None:
    from benchmark.datasets import load_dataset

    failed = []
    for task in _chosen_tasks(args.task):
        try:
            card = load_dataset(task, args.datasets).card
        except UserInputError as err:
            if args.task != "all":
                raise
            print(f"error: {err}", file=sys.stderr)
            failed.append(task.name)
            continue
        print(json.dumps(_dataset_summary(card) | {"verified": True}))
    if failed:
        raise UserInputError(f"datasets that failed the check: {', '.join(failed)}")


def _dataset_export_minari(args) -> None:
    from benchmark.datasets import load_dataset
    from benchmark.minari_io import export_to_minari
    from benchmark.tasks import get_task

    exported = export_to_minari(load_dataset(get_task(args.task), args.datasets), args.id)
    print(json.dumps({"id": args.id, "episodes": exported.total_episodes}))


def _dataset_import_minari(args) -> None:
    from benchmark.minari_io import import_from_minari
    from benchmark.tasks import get_task

    card = import_from_minari(args.id, get_task(args.task), args.datasets)
    print(json.dumps(_dataset_summary(card)))


def _dataset_summary(card: dict) -> dict:
    summary = {k: card[k] for k in ("task", "num_trajectories", "num_pairs", "expert_score")}
    return summary | {"random_score": card["random"]["mean_return"]}


def _run(args) -> None:

    from benchmark.profiles import load_profile
    from benchmark.run import run
    from benchmark.tasks import get_task

    task, profile = get_task(args.task), load_profile(args.profile)
    record = run(task, args.algo, args.n_traj, args.seed, profile, args.runs, args.datasets)
    print(json.dumps({k: v for k, v in record.items() if k != "returns"}))


def _reproduce(args) -> None:
    import os

    from benchmark.profiles import load_profile
    from benchmark.sweep import check_inputs, done_elsewhere, format_plan, plan, sweep

    profile, runs, datasets = load_profile(args.profile), args.runs, args.datasets
    if args.tasks or args.algos:
        profile = profile.only(args.tasks, args.algos)
    workers = args.workers or os.cpu_count() or 1
    if args.dry_run:
        growing = check_inputs(profile, datasets, runs)
        copies = done_elsewhere(profile, runs, datasets)
        print(format_plan(profile, plan(profile), runs, workers, growing, copies))
        return
    result = sweep(profile, args.executor, workers, runs, datasets)
    print(
        f"profile {profile.name}: {len(result.done)} runs done now, {len(result.skipped)} "
        f"done before (never rerun: delete their folders under {runs / profile.name} to run "
        f"them again), {len(result.failed)} failed"
    )
    for spec, error in result.failed.items():
        print(f"  failed: {spec.label}: {error}", file=sys.stderr)
    if result.done or result.skipped:
        _report(profile, runs)
        _reproduction_report(profile.name, runs)
    if result.failed:
        raise UserInputError(
            f"{len(result.failed)} runs failed (listed above, tracebacks in their error.txt); "
            "fix the cause and start the sweep again: it resumes them"
        )


def _report(profile, runs) -> None:
    """Tables and figures from the records there are, logged to the profile's W&B summary run."""
    from benchmark.plots import build_figures
    from benchmark.report import build_tables
    from benchmark.tracking import folder_for, log_profile_summary

    tables = build_tables(
        profile.name,
        runs,
        runs.parent / "tables",
        beside=profile.beside,
        targets=profile.targets,
        other_config=_other_config(profile, runs),
    )
    figures = build_figures(profile.name, runs, runs.parent / "figures", profile.beside)
    pictures = [f for f in figures if f.suffix == ".png"]
    log_profile_summary(profile.name, tables, pictures, folder_for(runs))
    print(
        f"tables in {store.shown(runs.parent / 'tables' / profile.name)}, "
        f"figures in {store.shown(runs.parent / 'figures' / profile.name)}"
    )


def _reproduction_report(profile: str, runs: Path) -> None:
    """The user's cells beside the reference's and the paper's, written and printed."""
    from benchmark.reproduction import format_report, reproduction_table

    reference = store.REFERENCE_DIR / "runs"
    if runs.resolve() == reference.resolve():
        return  # these are the reference records
    if not (reference / profile).exists():
        print(f"no reference records for profile {profile}: no reproduction report")
        return
    report = format_report(profile, reproduction_table(profile, runs, reference))
    path = runs.parent / "tables" / profile / "reproduction.md"
    store.write_text(path, report)
    print(f"\n{report}\n(written to {store.shown(path)})")


def _status(args) -> None:

    from benchmark.profiles import load_profile
    from benchmark.sweep import format_status

    print(format_status(load_profile(args.profile), args.runs))


def _adopt(args) -> None:
    from benchmark.profiles import load_profile
    from benchmark.sweep import adopt
    from benchmark.tasks import get_task

    profile = load_profile(args.profile)
    tasks = [get_task(name).name for name in args.tasks]
    for folder in adopt(profile, tasks, args.runs, store.REFERENCE_DIR):
        print(store.shown(folder))
    print(
        f"now: python -m benchmark tables --profile {profile.name} --runs "
        f"{store.shown(store.REFERENCE_DIR / 'runs')} (and figures)",
        file=sys.stderr,
    )


def _wandb_sync(args) -> None:

    from benchmark.tracking import folder_for, save_workspaces, sync

    wandb_dir = folder_for(args.runs)
    code = sync(wandb_dir)
    # A view per task of each profile synced; a view not saved is one line, never a failure
    save_workspaces(wandb_dir, uploaded=code == 0)
    if code != 0:
        raise UserInputError("wandb sync failed (its message is above); fix it and run again")


def _bench_throughput(args) -> None:
    import os
    import platform

    from benchmark import store
    from benchmark.bench import throughput
    from benchmark.sweep import read_throughput

    out = args.out
    data = read_throughput(out) if out.exists() else {"tasks": {}}
    if args.from_records:
        if args.task != "all":
            raise UserInputError("--from-records takes every task with records; drop --task")
        _rates_from_records(data, args.from_records, out)
        return
    data["machine"] = {"cores": os.cpu_count(), "processor": platform.processor()}
    data["command"] = "python -m benchmark bench throughput"
    for task in _chosen_tasks(args.task):
        measured = {k: float(f"{v:.4g}") for k, v in throughput(task.name).items()}
        # Kept beside: the rates taken from records (--from-records), which this does not measure.
        data["tasks"].setdefault(task.name, {}).update(measured)
        print(json.dumps({"task": task.name} | measured))
        store.write_json(out, data)


def _rates_from_records(data: dict, runs_dirs: list[Path], out: Path) -> None:
    from benchmark.bench import rates_from_records

    measured: dict[str, dict] = {}
    # A learner's rate on a task comes from the first folder holding its runs there, so that a
    # folder with one learner's runs of a task leaves the others' rates to the next folder.
    for runs_dir in reversed(runs_dirs):
        for task, groups in rates_from_records(runs_dir).items():
            measured.setdefault(task, {}).update(groups)
    if not measured:
        raise UserInputError(
            f"no finished FEM, GTAL, GAIL, GAIL (PPO) or AIRL runs under "
            f"{', '.join(map(str, runs_dirs))}; name a records folder (e.g. results/reference/runs)"
        )
    missing = sorted(set(measured) - set(data["tasks"]))
    if missing:
        raise UserInputError(
            f"{out} has no figures for {', '.join(missing)}; measure them first with "
            "`python -m benchmark bench throughput`"
        )
    for rates in data["tasks"].values():  # a task without records here loses its older figures
        for key in [key for key in rates if key.startswith("records_")]:
            del rates[key]
    for task, groups in measured.items():
        for group, (rate, count) in sorted(groups.items()):
            figures = {
                f"records_{group}_s_per_step": float(f"{rate:.4g}"),
                f"records_{group}_runs": count,
            }
            data["tasks"][task].update(figures)
            print(json.dumps({"task": task} | figures))
    data["loop_rates"] = "python -m benchmark bench throughput --from-records " + " ".join(
        map(str, runs_dirs)
    )
    store.write_json(out, data)


def _records_for(args):
    """The profile (a profile given by path has its file's name; records of a profile whose file
    is gone are still found by name, as a profile with nothing beside it and no targets), and the
    records to read: --runs, else the user's own where they hold the profile's runs, else the
    suite's reference records."""
    from benchmark.profiles import Profile, known_profiles, load_profile

    name = args.profile
    if name.endswith(".toml") or name in known_profiles():
        profile = load_profile(name)
    else:
        profile = Profile(name, "", {})
    return profile, args.runs or store.records_for(profile.name)


def _other_config(profile, runs: Path) -> frozenset:
    """The (task, n_traj, algorithm, seed) of the profile's records made with another config
    than it gives now: its comparison marks them and its targets do not judge them."""
    from benchmark.sweep import config_verdicts

    return frozenset(
        (spec.task, spec.n_traj, spec.algo, spec.seed)
        for spec, (verdict, _) in config_verdicts(profile, runs).items()
        if verdict != "same"
    )


def _tables(args) -> None:
    from benchmark.report import build_tables

    profile, runs = _records_for(args)
    out = args.out or runs.parent / "tables"
    tables = build_tables(
        profile.name,
        runs,
        out,
        beside=profile.beside,
        targets=profile.targets,
        other_config=_other_config(profile, runs),
    )
    for table in tables.values():
        for path in table.attrs["paths"]:
            print(store.shown(path))
    print(f"from the records in {store.shown(runs / profile.name)}", file=sys.stderr)


def _figures(args) -> None:
    from benchmark.plots import build_figures

    profile, runs = _records_for(args)
    out = args.out or runs.parent / "figures"
    for path in build_figures(profile.name, runs, out, profile.beside):
        print(store.shown(path))
    print(f"from the records in {store.shown(runs / profile.name)}", file=sys.stderr)


def _bench_rollout(args) -> None:
    from benchmark.bench import bench_rollout

    print(json.dumps(bench_rollout(args.task, args.num_envs, args.steps, args.rounds)))


def _bench_overhead(args) -> None:
    from benchmark.bench import sampling_overhead

    tasks = [task for task in _chosen_tasks(args.task) if task.is_mujoco or args.task != "all"]
    for task in tasks:
        print(json.dumps(sampling_overhead(task.name, args.rounds, policy_kind=args.policy)))


def _bench_time_to_expert(args) -> None:
    from benchmark.bench import time_to_expert

    result = time_to_expert(
        args.task,
        args.n_traj,
        args.profile,
        args.threshold,
        args.eval_every,
        seed=args.seed,
        algo=args.algo,
    )
    print(json.dumps(result))


def _reader_gone(stream) -> bool:
    """Whether `stream` is a pipe whose reading end has closed (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(stream.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (AttributeError, OSError, ValueError):  # no poll here, or not a file
        return False


def main(argv: list[str] | None = None) -> int:
    # EnvPool builds float64 Box spaces that gymnasium warns about on every creation.
    warnings.filterwarnings("ignore", message=".*precision lowered by casting.*")
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit:  # --help (0), or a bad argument already said in one line (2)
        return exit.code
    try:
        args.func(args)
    except (UserInputError, TrainingDiverged) as err:  # a diverged run: its settings or data
        print(f"error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError as err:
        if _reader_gone(sys.stdout):  # our output went to a reader that stopped early (`| head`)
            # Python would report the pipe again when it flushes stdout at exit.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        print(
            f"error: a pipe or socket closed under the command ({err}): a worker process killed, "
            "or its connection to Ray or W&B lost; run it again (a sweep resumes where it stopped)",
            file=sys.stderr,
        )
        return 2
    except OSError as err:  # a folder that cannot be made or written, a file that cannot be read
        where = store.shown(Path(err.filename)) if err.filename else "a file"
        print(
            f"error: {where}: {err.strerror or err}; give a path that exists and that you can "
            "read (an input) or write (an output)",
            file=sys.stderr,
        )
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
