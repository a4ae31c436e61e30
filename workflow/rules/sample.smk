rule sample:
    # One directory, not N declared files: Snakemake's bookkeeping of a job's outputs is
    # linear in their number for every job that depends on it, so planning was quadratic in N.
    output:
        directory(f"{RUN_DIR}/architectures"),
        # What the run's tables are the results of: a later config of the same run name and
        # another recipe is refused when the workflow is parsed, not written over them.
        record=f"{RUN_DIR}/run.json",
    log:
        f"{RUN_DIR}/logs/sample.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        search_space=canonical(config["search_space"]),
        num_architectures=len(ARCH_IDS),
        seed=sampling_seed(config),
        identity=run_identity(RUN_CONFIG),
    script:
        "../../scripts/sample.py"


# One prepared dataset per data recipe, in the store beside the trainings made from it: its
# record data.json (recipe and content SHA-256) and the cache dataset.pt. The job's output is
# this working directory's receipt of the record, so that Snakemake owns nothing in the store.
rule prepare_data:
    output:
        f"{RECEIPTS}/{{data}}/data.json",
    log:
        f"{RECEIPTS}/{{data}}/prepare_data.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        dataset=data_of,
        store=job_store,
    script:
        "../../scripts/prepare_data.py"
