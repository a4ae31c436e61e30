rule train:
    input:
        # An architecture file's name is the hash of its content, so a rewritten file (the
        # sample rule reruns when num_architectures grows) never means a new candidate.
        architecture=ancient("results/{run}/architectures/{arch_id}.json"),
        dataset="results/{run}/dataset.pt",
    output:
        metrics="results/{run}/candidates/{arch_id}/metrics.json",
        history="results/{run}/candidates/{arch_id}/history.csv",
    log:
        "results/{run}/logs/train/{arch_id}.log",
    benchmark:
        "results/{run}/benchmarks/train/{arch_id}.tsv"
    retries: config["training"]["retries"]
    conda:
        "../envs/random_nas.yaml"
    threads: config["training"]["threads"]
    resources:
        gpu=1 if TRAIN_ON_GPU else 0,
        attempt=lambda wildcards, attempt: attempt,
        runtime=lambda wildcards, attempt: attempt * TRAIN_RUNTIME_MINUTES,
        cpus_per_task=config["training"]["threads"],
    params:
        **training_params(),
        checkpoint="results/{run}/checkpoints/{arch_id}.pt",
        keep_checkpoint=config["training"]["keep_checkpoints"],
        retries=config["training"]["retries"],
    script:
        "../../scripts/train.py"
