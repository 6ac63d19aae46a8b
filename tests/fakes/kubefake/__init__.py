"""A fake kube-apiserver for tests; run it with tests/fakes/kube_apiserver.py.

Modules: errors (Status objects), schema (CRD structural schemas), patch (merge,
JSON and strategic merge patches), selectors, resources (served kinds, tables,
discovery), store (objects, watches, garbage collector), openapi (/openapi/v3),
server (HTTP, auth, faults).
"""
