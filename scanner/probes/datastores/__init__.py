"""The data-store probes: does a store ask for a password, does it offer
encryption, and what personal data could anyone read from it.

One module per store (`postgres`, `mysql`, `redis`, `memcached`, `mongodb`,
`elasticsearch`), each filling a `report.StoreReport`; the shared pieces:
`logins` (credentials to try), `transport` and `mongodb_transport` (TLS or
plaintext, asked at the socket level), `tables` (SQL stores), `keyspace` and
`redis_keyspace` (key-value stores), `documents` (document stores).

May import: `scanner.probes.clients`, `scanner.probes.personal_data`,
`scanner.probes.evidence`, `scanner.probes.context`,
`scanner.probes.credentials`, `scanner.banners`, `scanner.model`. Never the web probe.
"""
