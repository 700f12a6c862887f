"""RBAC data the API server is born with: Kubernetes' bootstrap policy (bootstrap.py)."""
