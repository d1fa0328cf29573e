"""The rule engine: observations and services in, findings out.

`loader` reads and validates the rules directory (YAML against
`rules/rule.schema.json`, file:line problems), taking unchanged files' rules
from the user's cache (`rule_cache`); `conditions` are the matchers
a rule is built from; `rules` evaluates them against a host; `findings`
builds a finding and its fingerprint; `backports` tells when a version may be
a distribution build that carries backported fixes, and `judge`s each CVE of
a package whose revision the banner shows by the distribution's advisory data
(`advisories`); `exploited` marks the CVEs on CISA's Known Exploited
Vulnerabilities catalogue; `sharing` keeps one copy of what the findings of
hosts alike repeat (texts, evidence, CVE lists): most of a large scan's memory.

May import: `scanner.banners`, `scanner.model`, `scanner.support`. Never the
probes, assessment, formats or anything above them.
"""
