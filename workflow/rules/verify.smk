# verify_published: retrain a few candidates of every published run on this machine, under the
# run's own committed config, and compare with the published table. Everything it writes lives
# under results/verify/{name}/; nothing under results/published/ changes.


rule verify_published:
    input:
        expand("results/verify/{name}/verification.csv", name=PUBLISHED_RUNS),


checkpoint select_verification:
    input:
        "results/published/{name}/candidates.parquet",
    output:
        "results/verify/{name}/selected.json",
    log:
        "results/verify/{name}/logs/select.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        k=config["verify"]["k"],
    script:
        "../../scripts/select_verification.py"


use rule prepare_data as verify_prepare_data with:
    output:
        "results/verify/{name}/dataset.pt",
    log:
        "results/verify/{name}/logs/prepare_data.log",
    localrule: True
    params:
        dataset=lambda wildcards: data_recipe(published_config(wildcards.name)),
        seed=lambda wildcards: published_config(wildcards.name)["seed"],


use rule train as verify_train with:
    input:
        dataset="results/verify/{name}/dataset.pt",
    output:
        metrics="results/verify/{name}/candidates/{arch_id}/metrics.json",
        history="results/verify/{name}/candidates/{arch_id}/history.csv",
    log:
        "results/verify/{name}/logs/train/{arch_id}.log",
    benchmark:
        "results/verify/{name}/benchmarks/train/{arch_id}.tsv"
    priority: 0
    params:
        training=lambda wildcards: recipe(published_config(wildcards.name))["training"],
        seed=lambda wildcards: published_config(wildcards.name)["seed"],
        dataset=lambda wildcards: data_recipe(published_config(wildcards.name)),
        architecture=published_architecture,


rule verification:
    input:
        published="results/published/{name}/candidates.parquet",
        retrained=verification_metrics,
    output:
        table="results/verify/{name}/verification.csv",
        verdict="results/verify/{name}/verification.md",
    log:
        "results/verify/{name}/logs/verification.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    script:
        "../../scripts/verification.py"
