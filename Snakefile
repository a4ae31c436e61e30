# Random-search NAS: sample architectures, train each, collect a results table, report.
from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "workflow/schemas/config.schema.yaml")


include: "workflow/rules/common.smk"


rule all:
    default_target: True
    input:
        f"{RUN_DIR}/architectures",
        report_outputs(RUN_DIR),


include: "workflow/rules/sample.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/collect.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/repeats.smk"
include: "workflow/rules/verify.smk"
