# The one training rule: every training a run, rung, repeat or verification asks for is an
# entry of the store, keyed by its data recipe, training recipe, architecture and seed. A job
# trains an entry the store lacks (under its claim, published once) and copies it into its
# receipt; one whose entry the store holds copies it alone. A receipt is no proof: where its
# entry was retired or removed since, the `taken_out` parameter changes and the job runs again.


rule train:
    input:
        # The receipt of the data recipe's record, written once: a training depends on the
        # data's content (checked by its SHA-256), not on a file's age. The store's dataset.pt
        # is a cache, prepared again by the job where it is gone; were it the input, preparing
        # it again would mark every entry of the recipe out of date.
        data=ancient(f"{RECEIPTS}/{{data}}/data.json"),
    # The receipt of the entry: a copy of its metrics and history in this working directory.
    # The entry itself is published in the store by the job, once, and no rule owns it.
    output:
        metrics=f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/metrics.json",
        history=f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/history.csv",
    log:
        f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/train.log",
    benchmark:
        f"{RECEIPTS}/{{data}}/{{recipe}}/{{arch_id}}/seed_{{seed}}/benchmark.tsv"
    priority: training_priority
    retries: config["training"]["retries"]
    conda:
        "../envs/random_nas.yaml"
    threads: config["training"]["threads"]
    # Slurm gets --cpus-per-task from threads. Every resource costs Snakemake time per job
    # when it plans, so a GPU is declared only where it means something.
    resources:
        **training_gpu(),
        # A slot for a group's accounting: the cluster profile allows one per submission
        # (a local scope), so a group asks for one training's CPUs and memory and the sum
        # of its members' time limits, as its members run in turn.
        trainings=1,
        attempt=lambda wildcards, attempt: attempt,
        runtime=training_runtime,
        mem_mb=config["training"]["mem_mb"],
    params:
        training=training_of,
        seed=lambda wildcards: int(wildcards.seed),
        dataset=data_of,
        architecture=architecture_of,
        store=job_store,
        taken_out=taken_out,
        # The thin job and its request (rules/trainer.smk).
        command=training_command,
    shell:
        "{params.command} {resources.attempt} {resources.runtime}"
