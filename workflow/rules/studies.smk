# Every study.yaml under results/, one or two folders down (results/published/* among them):
# studies of search spaces, and studies of strategies; each a target of its own.

STUDIES = sorted(
    str(path.parent)
    for pattern in ("results/*/study.yaml", "results/*/*/study.yaml")
    for path in Path().glob(pattern)
)
STRATEGY_STUDIES = [
    folder for folder in STUDIES if study_kind(f"{folder}/study.yaml") == "strategies"
]
SPACE_STUDIES = [folder for folder in STUDIES if folder not in STRATEGY_STUDIES]


wildcard_constraints:
    # Only the folders that hold a study.yaml: a run's own report files are the report rule's.
    study="|".join(map(re.escape, SPACE_STUDIES)) or r"(?!)",
    strategy_study="|".join(map(re.escape, STRATEGY_STUDIES)) or r"(?!)",


def ready_study_reports(wildcards):
    """The report of every study whose runs all have their tables; a study still missing
    some (a comparison stopped half-way) is left out, saying so, rather than failing all.
    """
    ready = []
    for folder in STUDIES:
        try:
            tables = study_tables(f"{folder}/study.yaml")
        except ValueError:
            tables = []  # its render names what is wrong
        missing = [table for table in tables if not Path(table).exists()]
        if missing:
            # Printed: Snakemake's quiet console drops what its logger says at this point.
            print(
                f"study {folder} is left out: {len(missing)} of its runs' tables are not "
                f"made yet ({missing[0]}); for a study of strategies, `random-nas compare "
                f"{folder}/study.yaml` makes them",
                file=sys.stderr,
            )
        else:
            ready.append(f"{folder}/report/study.md")
    return ready


def study_inputs(wildcards):
    """The tables a study renders from, or the one line that says what is wrong with it."""
    folder = getattr(wildcards, "study", None) or wildcards.strategy_study
    try:
        return study_tables(f"{folder}/study.yaml")
    except ValueError as error:
        raise WorkflowError(str(error)) from None
