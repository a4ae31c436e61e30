# verify_published: retrain a few candidates of every published run under the run's own
# committed config, as entries of the store (a verification already trained here is found, not
# trained again), and compare with the published table. Its verdict lives under
# results/verify/{name}/; nothing under results/published/ changes.


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
