"""Where a scan's batches run: one batch is one nmap process and the probes
of the hosts it found, done together so that a batch's probes start as soon
as its nmap is done, next to its targets.

`options` holds the choice (`--executor`, `--scheduler`, `--site`), `work`
the batch as a unit of work (what a Dask worker runs), `threads` the
executor on this machine (the default) and `dask` the one on a Dask cluster
(a `LocalCluster` when no scheduler is named). Both hand back each batch's
outcome as it finishes, for the checkpoint and the progress bar.

May import discovery, the probes, the model and support; never the rule
engine, assessment, formats or outputs. Dask is imported only by `dask`,
and only when that executor runs.
"""
