"""The run's plan and the recipe registry, made as the workflow makes them when it is parsed,
tested without Snakemake."""

import copy
import os
import time

import pytest
import yaml
from conftest import REPO

from random_nas.console import written_reports
from random_nas.plan import ConfigError, plan_run, schema_defaults
from random_nas.recipes import RecipeRegistry, UnknownRecipe, data_recipe, training_recipe
from random_nas.store.layout import data_key, recipe_key

DEFAULTS = schema_defaults(
    yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
)


def config(**sections):
    merged = copy.deepcopy(DEFAULTS)
    for key, value in sections.items():
        if isinstance(value, dict):
            merged[key].update(value)
        else:
            merged[key] = value
    return merged


def test_the_default_plan_draws_twenty_at_three_epochs_on_the_cpu():
    plan = plan_run(config(), gpu=False)
    assert len(plan.arch_ids) == 20 and plan.budgets == [3] and plan.trained_budgets == [3]
    assert plan.repeat_seeds == [1, 2] and not plan.halving and not plan.train_on_gpu
    assert plan.gpu_share == 1 and plan.run_dir == "results/default"
    # The draw is the sample's: the same config draws the same architectures.
    assert plan_run(config(), gpu=False).arch_ids == plan.arch_ids


def test_halving_hyperband_and_a_dense_grid_plan_their_budgets():
    halving = plan_run(
        config(training={"epochs": 9}, search={"strategy": "successive_halving"}), gpu=False
    )
    assert halving.ladder == halving.budgets == [1, 3, 9] and halving.halving
    hyperband = plan_run(
        config(num_architectures=17, training={"epochs": 9}, search={"strategy": "hyperband"}),
        gpu=False,
    )
    assert [(start, len(schedule)) for start, schedule in hyperband.brackets] == [
        (0, 3),
        (9, 2),
        (14, 1),
    ]
    grid = plan_run(config(training={"epochs": 9}, search={"dense_grid": True}), gpu=False)
    assert grid.budgets == [9] and grid.trained_budgets == [1, 3, 9]


@pytest.mark.parametrize(
    ("sections", "named"),
    [
        ({"num_architectures": 30, "search_space": {"num_layers": 1, "filters": [8]}},
         "holds only"),
        ({"dataset": {"val_size": 5000}}, "dataset.val_size"),
        ({"training": {"epochs": 10}, "search": {"strategy": "hyperband"}}, "training.epochs 9"),
        ({"num_architectures": 16, "training": {"epochs": 9}, "search": {"strategy": "hyperband"}},
         "multiple of 17"),
        ({"repeats": {"top_k": 3, "seeds": [0, 1]}}, "repeats.seeds"),
        ({"search": {"strategy": "successive_halving", "eta": 1}}, "search.eta"),
    ],
)  # fmt: skip
def test_a_config_that_cannot_be_planned_is_named_in_one_line(sections, named):
    with pytest.raises(ConfigError) as refused:
        plan_run(config(**sections), gpu=False)
    assert named in str(refused.value) and "\n" not in str(refused.value)


def test_a_gpu_is_asked_for_where_auto_finds_one_and_shared_by_k():
    plan = plan_run(config(training={"trainings_per_gpu": 2}), gpu=True)
    assert plan.train_on_gpu and plan.gpu_share == 2
    assert not plan_run(config(training={"device": "cpu"}), gpu=True).train_on_gpu


def test_the_registry_knows_published_recipes_and_names_what_it_does_not(tmp_path):
    published = tmp_path / "published/mnist5k-100"
    published.mkdir(parents=True)
    run = config(run="mnist5k-100", num_architectures=4, training={"lr": 0.1})
    (published / "config.yaml").write_text(yaml.safe_dump(run))
    (published / "candidates.parquet").write_bytes(b"")
    completed = []
    registry = RecipeRegistry(tmp_path / "published", complete=completed.append)
    own = config()
    key = registry.add(own, [3])
    assert registry.published_names() == ["mnist5k-100"] and not completed

    # A published run's recipe is found by its keys, read once from its committed config.
    data = data_key(data_recipe(run))
    recipe = recipe_key(training_recipe(run, 3))
    assert registry.training_of(data, recipe)["lr"] == 0.1 and len(completed) == 1
    assert registry.data_of(key) == data_recipe(own)
    registry.training_of(data, recipe)
    assert len(completed) == 1
    with pytest.raises(UnknownRecipe, match=r"training recipe \S+ is not one this workflow knows"):
        registry.training_of(data, "e3-0000000000")
    with pytest.raises(UnknownRecipe, match="architecture 0123456789ab"):
        registry.architecture_of("0123456789ab")


def test_the_end_of_run_lines_name_only_what_this_run_wrote(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = tmp_path / "results/published/old/report/index.html"
    new = tmp_path / "results/tiny/report/index.html"
    for path in (old, new):
        path.parent.mkdir(parents=True)
        path.write_text("report")
    started = time.time() - 30  # the run started before it wrote its report
    os.utime(old, (started - 60, started - 60))
    assert written_reports("tiny", "results/tiny", started) == [
        "The report of run 'tiny': results/tiny/report/index.html"
    ]


def test_a_renamed_key_is_named_with_its_new_name():
    from random_nas.plan import config_problem

    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    old = config(report={"top_k": 5})
    del old["report"]["ranking_rows"]
    assert (
        config_problem(old, schema) == "config key report.top_k is now called report.ranking_rows"
    )


def test_a_plan_too_large_is_warned_with_its_cost_or_refused_where_it_cannot_fit():
    from random_nas.plan import _scale_warnings

    assert _scale_warnings(3_000, available=2**40) == []
    (warning,) = _scale_warnings(1_000_000, available=2**40)
    assert "planning 1,000,000 training jobs takes Snakemake about 27 min and 24.9 GiB" in warning
    with pytest.raises(ConfigError, match=r"24\.9 GiB before .* more than the 8\.0 GiB"):
        _scale_warnings(1_000_000, available=8 * 2**30)
