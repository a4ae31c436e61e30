# Successive halving: rung 0 trains every draw for the first budget; the checkpoint `rung`
# decides, from the previous rung's results, which architectures each later rung (1, 2, ...)
# trains. Each
# training at budget b is the train rule with training.epochs = b, stored once per
# (architecture, budget) in trials/{arch_id}/epochs_{b}/: the top rung and the full-budget
# comparison share theirs.


checkpoint rung:
    input:
        previous_rung_metrics,
    output:
        f"{RUN_DIR}/rungs/rung_{{rung}}.json",
    log:
        f"{RUN_DIR}/logs/rung_{{rung}}.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        eta=config["search"]["eta"],
    script:
        "../../scripts/promote.py"


use rule train as train_trial with:
    output:
        metrics="results/{run}/trials/{arch_id}/epochs_{budget}/metrics.json",
        history="results/{run}/trials/{arch_id}/epochs_{budget}/history.csv",
    log:
        "results/{run}/logs/train/{arch_id}_epochs_{budget}.log",
    benchmark:
        "results/{run}/benchmarks/train/{arch_id}_epochs_{budget}.tsv"
    params:
        training=lambda wildcards: {
            **RECIPE["training"],
            "epochs": int(wildcards.budget),
        },
        seed=RECIPE["seed"],
        dataset=RECIPE["dataset"],
        architecture=sampled_architecture,


rule collect_trials:
    input:
        rungs=rung_trials,
        full_budget=FULL_BUDGET_TRIALS,
    output:
        trials=f"{RUN_DIR}/trials.parquet",
        candidates=f"{RUN_DIR}/candidates.parquet",
        curves=f"{RUN_DIR}/curves.parquet",
    log:
        f"{RUN_DIR}/logs/collect_trials.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        config=table_config(config),
        space_size=SPACE.size,
    script:
        "../../scripts/collect_trials.py"


ruleorder: collect_trials > collect
