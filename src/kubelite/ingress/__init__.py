"""The built-in Ingress controller: routing table (model), haproxy configuration and process,
TLS certificate files, and the per-node loop the agent runs (node). The status half (the
Ingresses' addresses) is a controller of the controller-manager (controllers/ingress_status.py)."""
