"""The web probe: what an HTTP(S) front exposes.

`http` is the probe (headers, plaintext logins, cookies, exposures, dumps);
`forms` reads pages for login and personal-data forms; `exposures` knows
the paths that should not be served; `dumps` reads exposed data files
through the personal-data detectors.

May import: `scanner.probes.clients`, `scanner.probes.personal_data`,
`scanner.probes.evidence`, `scanner.probes.context`, `scanner.model`. Never
the data-store probes.
"""
