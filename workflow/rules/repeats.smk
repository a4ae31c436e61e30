# Repeated seeds: once the first round is collected, a checkpoint picks its best candidates and
# each is trained again with every extra seed, by the train rule itself (same resources,
# retries, resume and Slurm submission), into repeats/{arch_id}/seed_{seed}/.


checkpoint select_repeats:
    input:
        f"{RUN_DIR}/candidates.parquet",
    output:
        f"{RUN_DIR}/repeats/selected.json",
    log:
        f"{RUN_DIR}/logs/select_repeats.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        top_k=config["repeats"]["top_k"],
    script:
        "../../scripts/select_repeats.py"


use rule train as train_repeat with:
    output:
        metrics="results/{run}/repeats/{arch_id}/seed_{seed}/metrics.json",
        history="results/{run}/repeats/{arch_id}/seed_{seed}/history.csv",
    log:
        "results/{run}/logs/train/{arch_id}_seed_{seed}.log",
    benchmark:
        "results/{run}/benchmarks/train/{arch_id}_seed_{seed}.tsv"
    params:
        **REPEAT_RECIPE,
        architecture=sampled_architecture,


use rule collect as collect_repeats with:
    input:
        repeated_metrics,
    output:
        f"{RUN_DIR}/repeats.parquet",
    log:
        f"{RUN_DIR}/logs/collect_repeats.log",
    # Not inherited through `use rule`: a table is collected where snakemake runs.
    localrule: True
