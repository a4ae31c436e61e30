# A run is a view of the store: its table gathers the entries its config selects.


rule collect:
    input:
        metrics=[entry(arch_id) for arch_id in ARCH_IDS],
        # The run's record (rule sample): written before any table of the run, whatever the
        # target, so that another recipe under this run name is refused, not written over it.
        record=f"{RUN_DIR}/run.json",
    output:
        table=f"{RUN_DIR}/candidates.parquet",
        # Every epoch of every training: the report's learning curves.
        curves=f"{RUN_DIR}/curves.parquet",
    log:
        f"{RUN_DIR}/logs/collect.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        config=table_config(RUN_CONFIG),
        space_size=SPACE.size,
    script:
        "../../scripts/collect.py"
