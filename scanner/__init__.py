"""trustscan: a security-posture audit scanner."""

__version__ = "0.1.0"
