rule sample:
    # One directory, not N declared files: Snakemake's bookkeeping of a job's outputs is
    # linear in their number for every job that depends on it, so planning was quadratic in N.
    output:
        directory(f"{RUN_DIR}/architectures"),
    log:
        f"{RUN_DIR}/logs/sample.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        search_space=config["search_space"],
        num_architectures=config["num_architectures"],
        seed=config["seed"],
    script:
        "../../scripts/sample.py"


rule prepare_data:
    output:
        f"{RUN_DIR}/dataset.pt",
    log:
        f"{RUN_DIR}/logs/prepare_data.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        dataset=data_recipe(config),
        seed=config["seed"],
    script:
        "../../scripts/prepare_data.py"
