"""Protocol clients: talking to a port ourselves, bounded in bytes and time.

`wire` holds what every client shares (deadlines, bounded reads, TLS
contexts that verify nothing, our User-Agent); `http`, `redis`, `memcached`
and `elasticsearch` speak their protocols. Clients know nothing of findings
or reports: they return what the peer said, cut to size.

May import: `scanner.probes.evidence`, `scanner.probes.context`,
`scanner.probes.credentials`, `scanner.model`. Never a probe.
"""
