rule train:
    input:
        dataset="results/{run}/dataset.pt",
    output:
        metrics="results/{run}/candidates/{arch_id}/metrics.json",
        history="results/{run}/candidates/{arch_id}/history.csv",
    log:
        "results/{run}/logs/train/{arch_id}.log",
    benchmark:
        "results/{run}/benchmarks/train/{arch_id}.tsv"
    priority: training_priority
    retries: config["training"]["retries"]
    conda:
        "../envs/random_nas.yaml"
    threads: config["training"]["threads"]
    # Slurm gets --cpus-per-task from threads. Every resource costs Snakemake time per job
    # when it plans, so gpu is declared only where it means something.
    resources:
        **({"gpu": 1} if TRAIN_ON_GPU else {}),
        attempt=lambda wildcards, attempt: attempt,
        runtime=lambda wildcards, attempt: attempt * TRAIN_RUNTIME_MINUTES,
        mem_mb=config["training"]["mem_mb"],
    params:
        **RECIPE,
        architecture=sampled_architecture,
    script:
        "../../scripts/train.py"
