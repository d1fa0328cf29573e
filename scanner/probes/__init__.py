"""Probes: one module a protocol, looked up in a registry.

A probe is a function from (`Host`, `Service`, `ProbeContext`) to
observations. It never raises for a target's behaviour; if it raises anyway,
the runner records a `ProbeError` and the scan goes on. The runner also
keeps the two promises no probe can be trusted to keep alone:

- no password a probe may have sent comes back out: every string a probe
  returns (observations, and the message of what it raised) goes through
  one `Redactor` of the credentials that apply to its service (`_redactor`);
- no probe outlives its time budget by more than `GRACE`: one still running
  then is recorded as stopped at the time budget and left behind on its
  daemon thread, which neither holds up the scan nor keeps the process alive.

Inside: `runner` (runs the probes that apply, as above, from the
`registry` of probe modules, which it imports only when a scan runs, so that
no command pays for the data-store drivers it does not use), `context` (what
a probe is given), `tls` and `firewall` (probes of
their own), `web/` and `datastores/` (the web and data-store probes),
`clients/` (protocol clients they talk through), `personal_data` (detectors
and masking), `evidence` (bounding what a target said), `credentials` (the
user's credentials file).

May import: `scanner.banners`, `scanner.model`, `scanner.support`. Never the
rule engine, assessment, formats, outputs, the pipeline or the CLI.
"""
