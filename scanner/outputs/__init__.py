"""Outputs: what a finished run hands back to its user.

`files` checks output paths before a scan and writes each requested format
(atomically where it is a regular file; `-` is standard output); `table` is
the findings table printed when no output is asked for; `gate` decides the
exit verdict (`--fail-on`, `--fail-on-new`, `--allow-incomplete`) and
`coverage` names what the scan did not cover; `summary` is the line printed
at the end; `progress` draws the progress bar on a terminal; `terminal`
makes a target's text safe to print.

May import: `scanner.formats`, the stages' result types, `scanner.model`,
`scanner.support`. Never the CLI or the pipeline.
"""
