"""Banners: which product, version and distribution build a service names.

`products` maps an nmap banner or an HTTP header token to a product id and
its version; `versions` normalises banner versions (`9.2p1`,
`5.5.5-10.11.19-MariaDB`) for `packaging` and reads the distribution they
name; `packages` reads the distribution package revision some banners carry
(`9.2p1 Debian 2+deb12u10`) and the source package a product's fixes are
filed under. Probes, the rule engine and the feed importers all read banners
this one way.

May import: `scanner.model`, `scanner.support`.
"""
