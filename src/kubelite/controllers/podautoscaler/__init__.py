"""The horizontal pod autoscaler's pure parts (Kubernetes' pkg/controller/podautoscaler):
the replica calculator, the stabilization and scaling-rule limits, metrics reading. The
controller that drives them is controllers/horizontalpodautoscaler.py."""
