"""Outputs: what a finished run hands back to its user.

`files` checks output paths before a scan and writes each requested format
atomically; `gate` decides the exit verdict (`--fail-on`); `summary` is the
line printed at the end; `progress` draws the progress bar on a terminal.

May import: `scanner.formats`, the stages' result types, `scanner.model`,
`scanner.support`. Never the CLI or the pipeline.
"""
