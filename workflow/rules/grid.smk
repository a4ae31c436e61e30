# A dense grid: every draw at every budget of the ladder, gathered into one table from which
# search strategies are replayed without training.


rule collect_grid:
    input:
        metrics=GRID_TRIALS,
        record=f"{RUN_DIR}/run.json",
    output:
        f"{RUN_DIR}/grid.parquet",
    log:
        f"{RUN_DIR}/logs/collect_grid.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        config=table_config(RUN_CONFIG),
        space_size=SPACE.size,
    script:
        "../../scripts/collect_grid.py"


rule replay:
    input:
        unpack(replay_tables),
    output:
        [f"{RUN_DIR}/report/{name}" for name in REPLAY_FILES],
    log:
        f"{RUN_DIR}/logs/replay.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    script:
        "../../scripts/replay.py"
