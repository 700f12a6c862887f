"""Schemas the definitions file lacks: meta.k8s.io discovery and watch types, and the
OpenAPI spellings of the apimachinery scalars (Quantity, IntOrString).

Written in the same JSON-schema dialect as api/definitions.json (refs `#/$defs/NAME`)
so that one converter turns both into OpenAPI.
"""

from __future__ import annotations

from typing import Any

META = "io.k8s.apimachinery.pkg.apis.meta.v1."
RUNTIME = "io.k8s.apimachinery.pkg.runtime."

_API_VERSION = (
    "APIVersion defines the versioned schema of this representation of an object. Servers should "
    "convert recognized schemas to the latest internal value, and may reject unrecognized values. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#resources"
)
_KIND = (
    "Kind is a string value representing the REST resource this object represents. Servers may "
    "infer this from the endpoint the client submits requests to. Cannot be updated. In CamelCase. "
    "More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds"
)


def _string(description: str) -> dict[str, Any]:
    return {"description": description, "type": "string"}


def _strings(description: str, list_type: str = "atomic") -> dict[str, Any]:
    return {"description": description, "type": "array", "items": {"type": "string"},
            "x-kubernetes-list-type": list_type}


def _ref(name: str, description: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"$ref": "#/$defs/" + name}
    if description:
        out["description"] = description
    return out


def _gvk(kind: str) -> list[dict[str, str]]:
    return [{"group": "", "kind": kind, "version": "v1"}]


def _typed(properties: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": _string(_API_VERSION), "kind": _string(_KIND), **properties}


EXTRA_SCHEMAS: dict[str, dict[str, Any]] = {
    META + "APIResource": {
        "description": "APIResource specifies the name of a resource and whether it is namespaced.",
        "type": "object",
        "required": ["name", "singularName", "namespaced", "kind", "verbs"],
        "properties": {
            "categories": _strings("categories is a list of the grouped resources this resource belongs to (e.g. 'all')"),
            "group": _string("group is the preferred group of the resource.  Empty implies the group of the containing resource list. For subresources, this may have a different value, for example: Scale\"."),
            "kind": _string("kind is the kind for the resource (e.g. 'Foo' is the kind for a resource 'foo')"),
            "name": _string("name is the plural name of the resource."),
            "namespaced": {"description": "namespaced indicates if a resource is namespaced or not.", "type": "boolean"},
            "shortNames": _strings("shortNames is a list of suggested short names of the resource."),
            "singularName": _string("singularName is the singular name of the resource.  This allows clients to handle plural and singular opaquely. The singularName is more correct for reporting status on a single item and both singular and plural are allowed from the kubectl CLI interface."),
            "storageVersionHash": _string("The hash value of the storage version, the version this resource is converted to when written to the data store. Value must be treated as opaque by clients. Only equality comparison on the value is valid. This is an alpha feature and may change or be removed in the future. The field is populated by the apiserver only if the StorageVersionHash feature gate is enabled. This field will remain optional even if it graduates."),
            "verbs": _strings("verbs is a list of supported kube verbs (this includes get, list, watch, create, update, patch, delete, deletecollection, and proxy)"),
            "version": _string("version is the preferred version of the resource.  Empty implies the version of the containing resource list For subresources, this may have a different value, for example: v1 (while inside a v1beta1 version of the core resource's group)\"."),
        },
    },
    META + "APIResourceList": {
        "description": "APIResourceList is a list of APIResource, it is used to expose the name of the resources supported in a specific group and version, and if the resource is namespaced.",
        "type": "object",
        "required": ["groupVersion", "resources"],
        "properties": _typed({
            "groupVersion": _string("groupVersion is the group and version this APIResourceList is for."),
            "resources": {"description": "resources contains the name of the resources and if they are namespaced.",
                          "type": "array", "items": _ref(META + "APIResource"), "x-kubernetes-list-type": "atomic"},
        }),
        "x-kubernetes-group-version-kind": _gvk("APIResourceList"),
    },
    META + "GroupVersionForDiscovery": {
        "description": "GroupVersion contains the \"group/version\" and \"version\" string of a version. It is made a struct to keep extensibility.",
        "type": "object",
        "required": ["groupVersion", "version"],
        "properties": {
            "groupVersion": _string("groupVersion specifies the API group and version in the form \"group/version\""),
            "version": _string("version specifies the version in the form of \"version\". This is to save the clients the trouble of splitting the GroupVersion."),
        },
    },
    META + "ServerAddressByClientCIDR": {
        "description": "ServerAddressByClientCIDR helps the client to determine the server address that they should use, depending on the clientCIDR that they match.",
        "type": "object",
        "required": ["clientCIDR", "serverAddress"],
        "properties": {
            "clientCIDR": _string("The CIDR with which clients can match their IP to figure out the server address that they should use."),
            "serverAddress": _string("Address of this server, suitable for a client that matches the above CIDR. This can be a hostname, hostname:port, IP or IP:port."),
        },
    },
    META + "APIGroup": {
        "description": "APIGroup contains the name, the supported versions, and the preferred version of a group.",
        "type": "object",
        "required": ["name", "versions"],
        "properties": _typed({
            "name": _string("name is the name of the group."),
            "preferredVersion": _ref(META + "GroupVersionForDiscovery", "preferredVersion is the version preferred by the API server, which probably is the storage version."),
            "serverAddressByClientCIDRs": {"description": "a map of client CIDR to server address that is serving this group.", "type": "array",
                                           "items": _ref(META + "ServerAddressByClientCIDR"), "x-kubernetes-list-type": "atomic"},
            "versions": {"description": "versions are the versions supported in this group.", "type": "array",
                         "items": _ref(META + "GroupVersionForDiscovery"), "x-kubernetes-list-type": "atomic"},
        }),
        "x-kubernetes-group-version-kind": _gvk("APIGroup"),
    },
    META + "APIGroupList": {
        "description": "APIGroupList is a list of APIGroup, to allow clients to discover the API at /apis.",
        "type": "object",
        "required": ["groups"],
        "properties": _typed({
            "groups": {"description": "groups is a list of APIGroup.", "type": "array",
                       "items": _ref(META + "APIGroup"), "x-kubernetes-list-type": "atomic"},
        }),
        "x-kubernetes-group-version-kind": _gvk("APIGroupList"),
    },
    META + "APIVersions": {
        "description": "APIVersions lists the versions that are available, to allow clients to discover the API at /api, which is the root path of the legacy v1 API.",
        "type": "object",
        "required": ["versions", "serverAddressByClientCIDRs"],
        "properties": _typed({
            "serverAddressByClientCIDRs": {"description": "a map of client CIDR to server address that is serving this group.", "type": "array",
                                           "items": _ref(META + "ServerAddressByClientCIDR"), "x-kubernetes-list-type": "atomic"},
            "versions": _strings("versions are the api versions that are available."),
        }),
        "x-kubernetes-group-version-kind": _gvk("APIVersions"),
    },
    META + "Patch": {
        "description": "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
        "type": "object",
    },
    META + "WatchEvent": {
        "description": "Event represents a single event to a watched resource.",
        "type": "object",
        "required": ["type", "object"],
        "properties": {
            "object": _ref(RUNTIME + "RawExtension", "Object is:\n * If Type is Added or Modified: the new state of the object.\n * If Type is Deleted: the state of the object immediately before deletion.\n * If Type is Error: *Status is recommended; other types may make sense\n   depending on context."),
            "type": {"type": "string"},
        },
    },
    RUNTIME + "RawExtension": {
        "description": "RawExtension is used to hold extensions in external versions.",
        "type": "object",
    },
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": "Quantity is a fixed-point representation of a number. It provides convenient marshaling/unmarshaling in JSON and YAML, in addition to String() and AsInt64() accessors.\n\nThe serialization format is:\n\n``` <quantity>        ::= <signedNumber><suffix>\n\n\t(Note that <suffix> may be empty, from the \"\" case in <decimalSI>.)\n\n<digit>           ::= 0 | 1 | ... | 9 <digits>          ::= <digit> | <digit><digits> <number>          ::= <digits> | <digits>.<digits> | <digits>. | .<digits> <sign>            ::= \"+\" | \"-\" <signedNumber>    ::= <number> | <sign><number> <suffix>          ::= <binarySI> | <decimalExponent> | <decimalSI> <binarySI>        ::= Ki | Mi | Gi | Ti | Pi | Ei\n\n\t(International System of units; See: http://physics.nist.gov/cuu/Units/binary.html)\n\n<decimalSI>       ::= m | \"\" | k | M | G | T | P | E\n\n\t(Note that 1024 = 1Ki but 1000 = 1k; I didn't choose the capitalization.)\n\n<decimalExponent> ::= \"e\" <signedNumber> | \"E\" <signedNumber> ```",
        "type": "string",
    },
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
        "format": "int-or-string",
        "type": "string",
    },
}

# OpenAPI v3 spells these two as oneOf (kube-openapi's OpenAPIV3OneOfTypes), which is
# what makes `kubectl explain` print <IntOrString> and <Quantity> instead of <string>.
V3_SCHEMAS: dict[str, dict[str, Any]] = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": {
        "description": EXTRA_SCHEMAS["io.k8s.apimachinery.pkg.api.resource.Quantity"]["description"],
        "oneOf": [{"type": "string"}, {"type": "number"}],
    },
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": {
        "description": EXTRA_SCHEMAS["io.k8s.apimachinery.pkg.util.intstr.IntOrString"]["description"],
        "format": "int-or-string",
        "oneOf": [{"type": "integer"}, {"type": "string"}],
    },
}
