"""The per-node service proxy (kube-proxy's job) with nftables. Knows nothing of runtime/."""

from kubelite.proxy.model import Endpoint, ServicePort, cluster_model, service_ports
from kubelite.proxy.nft import NftError
from kubelite.proxy.proxier import ServiceProxy
from kubelite.proxy.ruleset import Ruleset, render, transaction

__all__ = ["Endpoint", "NftError", "Ruleset", "ServicePort", "ServiceProxy", "cluster_model", "render",
           "service_ports", "transaction"]
