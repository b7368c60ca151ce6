"""upgrader: unattended, resumable upgrades of self-hosted Docker Compose servers."""

__version__ = "0.1.0"
