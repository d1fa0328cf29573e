"""Discovery, the pipeline's first stages: what to scan and what answers.

`targets` turns the user's arguments into deduplicated, scope-checked
`Target`s; `ports` chooses the one port list nmap gets (nmap's most common
ports and those of `rules/ports.yaml`, or `-p`, plus `--extra-ports`);
`nmap_runs` runs nmap (through python-nmap) in parallel batches
and `nmap_xml` reads its XML into `Host`s with their `Service`s and port-state
counts; `ack_scan` adds nmap's ACK scan for the packet-filter posture;
`checkpoint` saves finished batches so an interrupted scan can be resumed.

May import: `scanner.model`, `scanner.support`.
"""
