# A live search: the checkpoint `ask` builds the strategy anew, asks and tells it every earlier
# batch again (it must ask what it asked), then asks it for batch k within what is left of the
# budget; the batch's trainings are entries of the store like any other, and batch k + 1 is
# asked once they are in. Batch-synchronous: a batch is told whole before the next is asked.


checkpoint ask:
    input:
        unpack(asked_before),
    output:
        f"{RUN_DIR}/search/batch_{{batch}}.json",
    log:
        f"{RUN_DIR}/logs/search_batch_{{batch}}.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        search=search_identity(RUN_CONFIG["search"]),
        search_space=canonical(config["search_space"]),
        seed=sampling_seed(config),
        epochs=config["training"]["epochs"],
        budget=RUN_CONFIG["num_architectures"],
    script:
        "../../scripts/ask.py"


rule collect_search:
    input:
        unpack(searched),
        record=f"{RUN_DIR}/run.json",
    output:
        trials=f"{RUN_DIR}/trials.parquet",
        candidates=f"{RUN_DIR}/candidates.parquet",
        curves=f"{RUN_DIR}/curves.parquet",
    log:
        f"{RUN_DIR}/logs/collect_search.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        config=table_config(RUN_CONFIG),
        space_size=SPACE.size,
    script:
        "../../scripts/collect_search.py"


ruleorder: collect_search > collect
