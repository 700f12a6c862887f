"""RBAC's policy data (rbac.authorization.k8s.io): bootstrap roles and bindings as plain dicts."""
