# Repeated seeds: once the run's candidates are collected, a checkpoint picks the best at the
# full budget and each is trained again with every extra seed: entries of the store like any
# other training (same rule, resources, retries, resume and Slurm submission).


checkpoint select_repeats:
    input:
        f"{RUN_DIR}/trials.parquet" if HALVING else f"{RUN_DIR}/candidates.parquet",
    output:
        f"{RUN_DIR}/repeats/selected.json",
    log:
        f"{RUN_DIR}/logs/select_repeats.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        top_k=config["repeats"]["top_k"],
        epochs=config["training"]["epochs"],
    script:
        "../../scripts/select_repeats.py"


use rule collect as collect_repeats with:
    input:
        metrics=repeated_metrics,
    output:
        table=f"{RUN_DIR}/repeats.parquet",
    log:
        f"{RUN_DIR}/logs/collect_repeats.log",
    # Not inherited through `use rule`: a table is collected where snakemake runs.
    localrule: True
