# The captions of the report's plots and tables are the library's (the HTML report shows
# the same text): one file per plot, beside the code that draws it.
CAPTIONS = "../../src/random_nas/report/captions"


rule report:
    input:
        **report_inputs(RUN_DIR),
    output:
        tables=[
            report(
                f"{RUN_DIR}/report/{name}",
                category="Ranking",
                caption=f"{CAPTIONS}/ranking.rst",
            )
            for name in report_tables(bool(REPEAT_SEEDS), HALVING)
        ],
        plots=[
            report(
                f"{RUN_DIR}/report/{plot}.{fmt}",
                category="Plots",
                subcategory=plot,
                caption=f"{CAPTIONS}/{plot}.rst",
            )
            for plot in report_plots(bool(REPEAT_SEEDS), HALVING)
            for fmt in PLOT_FORMATS
        ],
    log:
        f"{RUN_DIR}/logs/report.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        ranking_rows=config["report"]["ranking_rows"],
    script:
        "../../scripts/report.py"


rule published_reports:
    # No output: a target rule without outputs runs every time it is asked for, so this
    # always re-renders every published report from its committed table.
    input:
        expand("results/published/{name}/candidates.parquet", name=PUBLISHED_RUNS),
    log:
        "results/logs/published_reports.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    script:
        "../../scripts/render_published.py"


# Studies: every study.yaml under results/ (one or two folders down) is a target of its own,
# re-rendered when one of its runs' tables changes.
rule study:
    input:
        ready_study_reports,


rule render_study:
    input:
        study="{study}/study.yaml",
        tables=study_inputs,
    output:
        [f"{{study}}/report/{name}" for name in STUDY_FILES],
    log:
        "results/logs/studies/{study}.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    script:
        "../../scripts/study.py"


rule render_strategy_study:
    input:
        study="{strategy_study}/study.yaml",
        tables=study_inputs,
    output:
        [f"{{strategy_study}}/report/{name}" for name in STRATEGY_STUDY_FILES],
    log:
        "results/logs/studies/{strategy_study}.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    script:
        "../../scripts/strategy_study.py"
