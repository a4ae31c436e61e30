"""`random-nas`: what is not a Snakemake target, as one command line.

    random-nas status                          runs here, and the trainings held now
    random-nas store list|check|clean|retire|remove   a look at a store of trainings
    random-nas study STUDY.yaml                render a study from its runs' tables
    random-nas export GRID OUT                 a dense grid as a long table and a Syne Tune blackbox
    random-nas migrate [--from-tables] RUN ... old run folders (or a run's tables) into the store
    random-nas compare STUDY.yaml              every search of a study of strategies, rendered
    random-nas plan-study STUDY.yaml [--pilot P]   the searches it needs, and their cost here
    random-nas run [SNAKEMAKE ARGS]            snakemake, its --configfile files checked first

Exit codes: 0 done, 1 the files at fault are named on stderr (a check found problems, an input
is missing or malformed), 2 the command line is wrong.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from random_nas.files import InputFileError

DEFAULT_STORE = Path("results/store")
# This working directory's receipts of the stores it used, one folder per store.
RECEIPTS = Path("results/receipts")


def _store_list(args: argparse.Namespace) -> int:
    from random_nas.store.admin import listing
    from random_nas.users import recipe_users

    store = _existing_store(args.store)
    print("\n".join(listing(store, recipe_users(Path("results"), store))))
    return 0


def _store_check(args: argparse.Namespace) -> int:
    from random_nas.store.admin import problems, published_entries, stale_receipts
    from random_nas.store.layout import store_tag

    store = _existing_store(args.store)
    found = problems(store) + stale_receipts(store, RECEIPTS / store_tag(str(store)))
    for line in found:
        print(line, file=sys.stderr)
    checked = sum(1 for _ in published_entries(store))
    print(f"checked {checked} entries of {store}: {len(found) or 'no'} problems")
    return 1 if found else 0


def _status(args: argparse.Namespace) -> int:
    from random_nas.store.admin import status

    print("\n".join(status(Path("results"), args.store)))
    return 0


def _store_clean(args: argparse.Namespace) -> int:
    from random_nas.store.admin import clean

    done = clean(_existing_store(args.store))
    print("\n".join(done) if done else "nothing to clean: no unfinished training, no stale lock")
    return 0


def _store_take_out(args: argparse.Namespace) -> int:
    from random_nas.store.admin import failed_matching, named_entries, take_out

    store = _existing_store(args.store)
    entries = named_entries(store, args.entries)
    if getattr(args, "failed_matching", None):
        entries += failed_matching(store, args.failed_matching)
    if not entries:
        print(f"no entry of {store} is named or matches: nothing {args.action}d")
        return 0
    print("\n".join(take_out(store, entries, args.reason, keep=args.action == "retire")))
    return 0


def _study(args: argparse.Namespace) -> int:
    from random_nas.report.study import render_study

    for path in render_study(args.study):
        print(path)
    return 0


def _plan_study(args: argparse.Namespace) -> int:
    from random_nas.report.study_plan import plan_study

    print(plan_study(args.study, args.pilot), end="")
    return 0


def _export(args: argparse.Namespace) -> int:
    from random_nas.export import export_grid

    print(export_grid(args.grid, args.out))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from random_nas.compare import compare

    extra = args.snakemake[1:] if args.snakemake[:1] == ["--"] else args.snakemake
    given = any(arg in ("--cores", "-c") or arg.startswith(("--cores=", "-c")) for arg in extra)
    return compare(args.study, extra if given else ["--cores", "all", *extra])


def _run(args: argparse.Namespace) -> int:
    import os

    from random_nas.config_files import run_command

    command, problems = run_command(
        args.snakemake, str(Path(sys.executable).with_name("snakemake"))
    )
    for problem in problems:
        print(f"random-nas run: {problem}", file=sys.stderr)
    if command is None:
        return 1
    os.execv(command[0], command)
    return 0  # unreachable: the process is Snakemake's now


def _migrate(args: argparse.Namespace) -> int:
    from random_nas.migrate import import_run

    for run_dir in args.runs:
        counts = import_run(run_dir, args.store, from_tables=args.from_tables)
        print(f"{run_dir}: " + ", ".join(f"{count} {what}" for what, count in counts.items()))
    return 0


def _existing_store(store: Path) -> Path:
    if not store.is_dir():
        raise InputFileError(f"store {store} does not exist (give the config's `store` folder)")
    return store


def _add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--store",
        type=Path,
        default=DEFAULT_STORE,
        help=f"the store (config key store; default {DEFAULT_STORE})",
    )


def version_line() -> str:
    """`random-nas --version`: this package, the store's format, the Python it runs on."""
    import platform

    import random_nas
    from random_nas.store.layout import STORE_FORMAT

    return (
        f"random-nas {random_nas.__version__} (store format {STORE_FORMAT}; Python "
        f"{platform.python_version()})"
    )


def _store_parser(store: argparse.ArgumentParser) -> None:
    """`random-nas store` and its actions."""
    actions = store.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, handler, text in (
        (
            "list",
            _store_list,
            "recipes and their settings, entries, statuses, hardware, sizes, "
            "the runs that use them, and the trainings held now",
        ),
        (
            "check",
            _store_check,
            "every entry parses and trained on its recipe's data, and every "
            "receipt of this working directory names an entry the store holds",
        ),
        ("clean", _store_clean, "remove unfinished trainings no job holds, and stale locks"),
        (
            "retire",
            _store_take_out,
            "move entries aside (kept under retired/, with the reason, "
            "date and who): the next run that asks for one trains it again",
        ),
        ("remove", _store_take_out, "delete entries, leaving a trace of why, when and who"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        _add_store_option(action)
        action.set_defaults(handler=handler)
        if name in ("retire", "remove"):
            action.add_argument(
                "entries",
                nargs="*",
                help="entry names, relative to the store (data/recipe/arch_id/seed_N)",
            )
            action.add_argument(
                "--reason",
                required=name == "retire",
                default="removed by name",
                help="why (kept with the trace)",
            )
        if name == "retire":
            action.add_argument(
                "--failed-matching",
                metavar="PATTERN",
                help="also every failed entry whose error matches this regular expression",
            )


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="random-nas",
        description="Random-search NAS benchmark: the commands that are not Snakemake targets.",
        epilog="A run, halving, Hyperband, a verification: `snakemake --cores all ...`.",
    )
    top.add_argument("--version", action="version", version=version_line())
    top.add_argument(
        "--debug",
        action="store_true",
        help="show an error's traceback instead of its one line",
    )
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    _store_parser(commands.add_parser("store", help="a look at a store of trainings"))

    state = commands.add_parser(
        "status", help="the runs of this working directory and the trainings held now"
    )
    _add_store_option(state)
    state.set_defaults(handler=_status)

    study = commands.add_parser("study", help="render a study (study.yaml naming runs)")
    study.add_argument("study", type=Path, help="the study.yaml")
    study.set_defaults(handler=_study)

    export = commands.add_parser("export", help="export a dense grid (grid.parquet)")
    export.add_argument("grid", type=Path, help="a dense grid's grid.parquet")
    export.add_argument("out", type=Path, help="folder to write the exports into")
    export.set_defaults(handler=_export)

    run = commands.add_parser(
        "run",
        help="snakemake, its config files checked first (missing, not YAML, a key given twice: "
        "one line naming the file and line; an empty file is no override)",
    )
    run.add_argument("snakemake", nargs=argparse.REMAINDER, help="Snakemake's arguments")
    run.set_defaults(handler=_run)

    compare = commands.add_parser(
        "compare", help="run every search of a study of strategies, then render the study"
    )
    compare.add_argument("study", type=Path, help="a study.yaml of kind: strategies")
    compare.add_argument(
        "snakemake",
        nargs=argparse.REMAINDER,
        help="Snakemake arguments for every search (default --cores all)",
    )
    compare.set_defaults(handler=_compare)

    plan = commands.add_parser(
        "plan-study",
        help="before a study of strategies trains: the searches each strategy needs for 80 %% "
        "power against its delta, and their cost here, from a pilot",
    )
    plan.add_argument("study", type=Path, help="a study.yaml of kind: strategies")
    plan.add_argument(
        "--pilot",
        type=Path,
        help="another study of strategies whose searches have run (default: the study's own)",
    )
    plan.set_defaults(handler=_plan_study)

    migrate = commands.add_parser("migrate", help="import run folders made before the store")
    migrate.add_argument("runs", nargs="+", type=Path, help="old run folders, e.g. results/default")
    migrate.add_argument(
        "--from-tables",
        action="store_true",
        help="import the trainings the run's tables record (a published run's, for a run "
        "resumed on another machine), each rebuilt from its row",
    )
    _add_store_option(migrate)
    migrate.set_defaults(handler=_migrate)
    return top


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"] and not {"-h", "--help"} & set(argv[1:2]):
        # Snakemake's own options follow, which argparse would take for ours.
        return _run(argparse.Namespace(snakemake=argv[1:]))
    args = parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (InputFileError, OSError, ValueError, ImportError) as error:
        if args.debug:
            raise
        print(
            f"random-nas {args.command}: error: {error} ({type(error).__name__}; "
            "`random-nas --debug ...` shows its traceback)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
