# Successive halving: rung 0 trains every draw for the first budget; the checkpoint `rung`
# decides, from the previous rung's results, which architectures each later rung (1, 2, ...)
# trains. A training at budget b is the store's entry for the recipe with epochs = b: the same
# as a plain run's at that budget, and shared by the top rung and the full-budget comparison.


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


# Hyperband: successive halving in each bracket, over its own slice of the draw.
checkpoint bracket_rung:
    input:
        previous_bracket_metrics,
    output:
        f"{RUN_DIR}/brackets/bracket_{{bracket}}/rung_{{rung}}.json",
    log:
        f"{RUN_DIR}/logs/bracket_{{bracket}}_rung_{{rung}}.log",
    localrule: True
    conda:
        "../envs/random_nas.yaml"
    params:
        eta=config["search"]["eta"],
    script:
        "../../scripts/promote.py"


rule collect_trials:
    input:
        **trial_inputs(),
        full_budget=FULL_BUDGET_TRIALS,
        record=f"{RUN_DIR}/run.json",
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
        config=table_config(RUN_CONFIG),
        space_size=SPACE.size,
    script:
        "../../scripts/collect_trials.py"


ruleorder: collect_trials > collect
