"""OpenAPI v3 documents (`/openapi/v3`), enough for kubectl's validation and `kubectl explain`.

kubectl 1.27 and later read `/openapi/v3/<group-version>` to learn whether the
server validates fields itself: it looks for a PATCH operation tagged with the
object's group, version and kind (`x-kubernetes-group-version-kind`) that
takes the `fieldValidation` query parameter. When it finds one it sends
`fieldValidation=Strict` and skips client-side validation, so `kubectl apply`
works without `--validate=false`.

Custom resources get their CRD schema as a component (what `kubectl explain`
shows). Built-in kinds get their paths but only a loose object schema, so
kubectl falls back to its compiled-in types for them.
"""

import hashlib
import json

OBJECT_META = {
    "description": "ObjectMeta is metadata that all persisted resources must have.",
    "type": "object",
    "properties": {
        name: {"type": kind, **({"additionalProperties": {"type": "string"}} if kind == "object" else {}),
               **({"items": {"type": "string"}} if kind == "array" else {})}
        for name, kind in {
            "name": "string", "generateName": "string", "namespace": "string", "uid": "string",
            "resourceVersion": "string", "generation": "integer", "creationTimestamp": "string",
            "deletionTimestamp": "string", "deletionGracePeriodSeconds": "integer",
            "labels": "object", "annotations": "object", "finalizers": "array",
        }.items()
    },
}
OBJECT_META["properties"]["ownerReferences"] = {
    "type": "array",
    "items": {"type": "object", "required": ["apiVersion", "kind", "name", "uid"],
              "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                             "name": {"type": "string"}, "uid": {"type": "string"},
                             "controller": {"type": "boolean"},
                             "blockOwnerDeletion": {"type": "boolean"}}},
}

_META_REF = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"


def _schema_name(resource):
    group = ".".join(reversed(resource.group.split("."))) if resource.group else "io.k8s.api.core"
    return f"{group}.{resource.version}.{resource.kind}"


def _query_parameter(name):
    return {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}


class OpenApi:
    """Builds and caches the OpenAPI v3 documents of every served group version."""

    def __init__(self, registry):
        self.registry = registry
        self.documents = {}
        group_versions = {("", "v1")}
        for resource in registry.types:
            group_versions.add((resource.group, resource.version))
        for group, version in sorted(group_versions):
            key = f"apis/{group}/{version}" if group else "api/v1"
            self.documents[key] = self.group_version_document(group, version)

    def document(self, relative_path):
        if relative_path == "":
            paths = {}
            for key, document in self.documents.items():
                digest = hashlib.sha512(json.dumps(document, sort_keys=True).encode()).hexdigest()
                paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}?hash={digest[:32].upper()}"}
            return {"paths": paths}
        return self.documents.get(relative_path)

    def group_version_document(self, group, version):
        paths, schemas = {}, {_META_REF: OBJECT_META}
        for resource in self.registry.in_group_version(group, version):
            gvk = {"group": group, "version": version, "kind": resource.kind}
            name = _schema_name(resource)
            schemas[name] = self.resource_schema(resource, gvk)
            reference = {"$ref": f"#/components/schemas/{name}"}
            base = resource.group_version_path
            scope = "/namespaces/{namespace}" if resource.namespaced else ""
            item = f"{base}{scope}/{resource.plural}/{{name}}"
            paths[f"{base}{scope}/{resource.plural}"] = {
                "get": self.operation("list", gvk, reference),
                "post": self.operation("post", gvk, reference),
            }
            paths[item] = {
                "get": self.operation("get", gvk, reference),
                "put": self.operation("put", gvk, reference),
                "patch": self.operation("patch", gvk, reference),
                "delete": self.operation("delete", gvk, reference),
            }
            if resource.status_subresource:
                paths[item + "/status"] = {
                    "get": self.operation("get", gvk, reference),
                    "put": self.operation("put", gvk, reference),
                    "patch": self.operation("patch", gvk, reference),
                }
        return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.33.0"},
                "paths": paths, "components": {"schemas": schemas}}

    @staticmethod
    def operation(action, gvk, reference):
        parameters = [_query_parameter("dryRun"), _query_parameter("fieldManager")]
        if action in ("post", "put", "patch"):
            parameters.append(_query_parameter("fieldValidation"))
        if action == "patch":
            parameters.append({"name": "force", "in": "query", "schema": {"type": "boolean"}})
        operation = {"parameters": parameters,
                     "responses": {"200": {"description": "OK",
                                           "content": {"application/json": {"schema": reference}}}},
                     "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
        if action in ("post", "put", "patch"):
            content_types = (["application/json-patch+json", "application/merge-patch+json"]
                             if action == "patch" else ["application/json"])
            operation["requestBody"] = {"content": {t: {"schema": reference} for t in content_types}}
        return operation

    @staticmethod
    def resource_schema(resource, gvk):
        if resource.schema is not None:
            schema = json.loads(json.dumps(resource.schema.raw))
            schema.setdefault("properties", {})["metadata"] = {
                "allOf": [{"$ref": f"#/components/schemas/{_META_REF}"}],
                "description": "Standard object's metadata."}
        else:
            schema = {"type": "object", "description": f"{resource.kind} ({resource.api_version}).",
                      "properties": {"apiVersion": {"type": "string"}, "kind": {"type": "string"},
                                     "metadata": {"allOf": [{"$ref": f"#/components/schemas/{_META_REF}"}]}},
                      "x-kubernetes-preserve-unknown-fields": True}
        schema["x-kubernetes-group-version-kind"] = [gvk]
        return schema
