"""Names of the files a report holds; light to import, since the workflow reads it at parse time.

A report holds only the sections its run has: the repeated seeds' with repeats, the rungs' and
learning curves' with successive halving.
"""

REPORT_TABLES = (
    "ranking.md",
    "ranking.csv",
    "pareto.csv",
    "expected_max.csv",
    "seeds.csv",
    "rungs.csv",
    "index.html",
)
PLOTS = ("cost_vs_accuracy", "edf", "expected_max", "seeds", "curves", "choices", "val_vs_test")
PLOT_FORMATS = ("svg", "png")
# A dense grid's replay of search strategies (random_nas.report.replay), beside the report.
REPLAY_FILES = [
    "replay.csv",
    "replay.md",
    *(f"{plot}.{fmt}" for plot in ("replay", "replay_differences") for fmt in PLOT_FORMATS),
]
# A study's report (random_nas.report.render_study), in report/ beside its study.yaml.
STUDY_FILES = [
    "study.md",
    "study.csv",
    *(f"{plot}.{fmt}" for plot in ("edf", "expected_max") for fmt in PLOT_FORMATS),
]
# A study of strategies' report (random_nas.report.strategies), beside its study.yaml.
STRATEGY_STUDY_FILES = [
    "study.md",
    "strategies.csv",
    *(f"anytime.{fmt}" for fmt in PLOT_FORMATS),
]
# What only some runs have: the name of a table or plot, and which kind of run has it.
_ONLY_WITH = {
    "seeds.csv": "repeats",
    "seeds": "repeats",
    "rungs.csv": "halving",
    # Every run collects its learning curves; tables collected before that have none.
    "curves": "curves",
}


def _kept(names: tuple[str, ...], repeats: bool, halving: bool, curves: bool) -> list[str]:
    has = {"repeats": repeats, "halving": halving, "curves": curves}
    return [name for name in names if has.get(_ONLY_WITH.get(name, ""), True)]


def report_tables(repeats: bool, halving: bool, curves: bool = True) -> list[str]:
    """The tables of a report of a run with (or without) repeats and successive halving."""
    return _kept(REPORT_TABLES, repeats, halving, curves)


def report_plots(repeats: bool, halving: bool, curves: bool = True) -> list[str]:
    """The plots of a report of a run with (or without) repeats, successive halving and
    learning curves."""
    return _kept(PLOTS, repeats, halving, curves)


def report_files(repeats: bool, halving: bool, curves: bool = True) -> list[str]:
    """Every file such a report folder holds, relative to it."""
    return [
        *report_tables(repeats, halving, curves),
        *(
            f"{plot}.{fmt}"
            for plot in report_plots(repeats, halving, curves)
            for fmt in PLOT_FORMATS
        ),
    ]
