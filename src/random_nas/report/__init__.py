"""The pages and plots, rendered from the tables alone (no training, no torch); what they state
is random_nas.analysis's numbers in random_nas.findings' sentences.

- `run`: a run's report (report/ beside its tables).
- `replay`: a dense grid's replay of search strategies (replay.csv, replay.md, its plot).
- `study`: a study of several runs (report/ beside its study.yaml).
- `verification`: a published run's verification (verification.csv and .md).
- `plots`: every plot, and its caption (captions/*.rst, which `snakemake --report` shows too).
- `pages`: numbers formatted for people, Markdown and HTML tables, the HTML page.

Output is deterministic: the same tables give byte-identical Markdown, CSV, HTML, SVG and PNG
files, so a regenerated report can be diffed against a published one.
"""
