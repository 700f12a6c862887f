"""The async API client and the informer every component builds on."""

from kubelite.client.api_client import (
    PATCH_CONTENT_TYPES,
    ApiClient,
    ListResult,
    object_key,
    resolve_kind,
)
from kubelite.client.errors import (
    AlreadyExists,
    ApiError,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
    error_from_status,
)
from kubelite.client.informer import Informer, InformerView
from kubelite.client.kubeconfig import ClusterConfig, KubeconfigError, load_kubeconfig
from kubelite.client.workqueue import QueueShutDown, WorkQueue

__all__ = [
    "PATCH_CONTENT_TYPES", "AlreadyExists", "ApiClient", "ApiError", "BadRequest",
    "ClusterConfig", "Conflict", "Forbidden", "Gone", "Informer", "InformerView", "Invalid", "KubeconfigError",
    "ListResult", "NotFound", "QueueShutDown", "ServerError", "TooManyRequests", "Unauthorized",
    "WorkQueue", "error_from_status", "load_kubeconfig", "object_key", "resolve_kind",
]
