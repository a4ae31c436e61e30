# The one training rule: every training a run, rung, repeat or verification asks for is an
# entry of the store, keyed by its data recipe, training recipe, architecture and seed.


rule train:
    input:
        # The record of the data recipe, written once: a training depends on the data's
        # content (checked by its SHA-256), not on a file's age. Its dataset.pt beside is a
        # cache, prepared again by the job where it is gone; were it the input, preparing it
        # again would mark every entry of the recipe out of date.
        data=ancient(f"{STORE}/{{data}}/data.json"),
    output:
        metrics=f"{STORE}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/metrics.json",
        history=f"{STORE}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/history.csv",
    log:
        f"{STORE}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/train.log",
    benchmark:
        f"{STORE}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/benchmark.tsv"
    priority: training_priority
    retries: config["training"]["retries"]
    conda:
        "../envs/random_nas.yaml"
    threads: config["training"]["threads"]
    # Slurm gets --cpus-per-task from threads. Every resource costs Snakemake time per job
    # when it plans, so a GPU is declared only where it means something.
    resources:
        **training_gpu(),
        attempt=lambda wildcards, attempt: attempt,
        runtime=training_runtime,
        mem_mb=config["training"]["mem_mb"],
    params:
        training=RECIPES.training_of,
        seed=lambda wildcards: int(wildcards.seed),
        dataset=RECIPES.data_of,
        architecture=RECIPES.architecture_of,
    script:
        "../../scripts/train.py"
