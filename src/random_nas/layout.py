"""Names of the files a report holds; light to import, since the workflow reads it at parse time."""

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


def report_files() -> list[str]:
    """Every file a report folder holds, relative to it."""
    return [*REPORT_TABLES, *(f"{plot}.{fmt}" for plot in PLOTS for fmt in PLOT_FORMATS)]
