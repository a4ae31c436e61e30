rule sample:
    output:
        expand(f"{RUN_DIR}/architectures/{{arch_id}}.json", arch_id=ARCH_IDS),
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
        dataset=config["dataset"],
        seed=config["seed"],
    script:
        "../../scripts/prepare_data.py"
