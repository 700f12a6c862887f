"""The node's pod network across machines: backends (vxlan, host-gw) kept in sync with Node
objects through the client. Never imports apiserver/ or store/."""

from kubelite.network.backend import LocalNode
from kubelite.network.peers import BACKENDS, HOST_GW, NONE, VXLAN
from kubelite.network.sync import PodNetwork, cleanup, make_backend

__all__ = ["BACKENDS", "HOST_GW", "NONE", "VXLAN", "LocalNode", "PodNetwork", "cleanup",
           "make_backend"]
