"""etcd's v3 API messages, generated from `etcd.proto` (`make generate`); see its header."""
