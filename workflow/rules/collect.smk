rule collect:
    input:
        expand(f"{RUN_DIR}/candidates/{{arch_id}}/metrics.json", arch_id=ARCH_IDS),
    output:
        f"{RUN_DIR}/candidates.parquet",
    log:
        f"{RUN_DIR}/logs/collect.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        config=table_config(config),
        space_size=SPACE.size,
    script:
        "../../scripts/collect.py"
