"""Embedded etcd, k3s' way: an etcd member run and supervised by `kubelite server`.

`layout.py` names the files, `peertls.py` makes the peer certificates, `process.py` runs and
restarts the etcd child, `etcdctl.py` drives Debian's etcdctl (members, snapshots),
`bootstrap.py` is the data a joining server copies, `embedded.py` puts them together
(`--cluster-init`, joining, restarts, `--cluster-reset`) and `snapshots.py` saves, lists and
prunes snapshots, on demand and on a schedule.
"""
