"""Encryption at rest: Kubernetes' EncryptionConfiguration providers (providers.py), the
configuration file (config.py) and the store wrapper that applies them (store.py)."""
