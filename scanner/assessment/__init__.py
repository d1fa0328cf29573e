"""Assessment: what the findings mean for the business and its customers.

`inventory` reads the user's asset inventory; `risk` scores every finding and
host and ranks the remediation plan; `trust` counts the customers and records
at stake, the duties a breach brings and its estimated cost (at the breach-cost
basis of `cost`); `notices` drafts
the notices to customers; `version_readings` says how the rules read each
service's version, for the report. `records` makes the one customer-record
count of each host and store that every view shows; `coverage` says what a
scan checked and found clean, and what it did not cover; `shown_paths` shows
the scanning machine's paths relative in the reports.

May import: `scanner.rule_engine`, `scanner.banners`, `scanner.model`,
`scanner.support`. Never the probes, discovery, formats or the CLI.
"""
