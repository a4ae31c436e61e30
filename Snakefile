# The workflow is workflow/Snakefile, where the Snakemake workflow catalog looks for it.
include: "workflow/Snakefile"


# An included file's default target does not carry over to the file that includes it.
rule default:
    default_target: True
    input:
        rules.all.input,
