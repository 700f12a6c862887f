"""apiextensions.k8s.io: CustomResourceDefinitions and the kinds they define.

- `validation.py`: a CRD's own validation (names, group, versions, scope, storage version);
- `conditions.py`: the status a CRD gets (NamesAccepted, Established, acceptedNames);
- `kinds.py`: the registry `Kind`s an Established CRD serves, with their `CustomInfo`;
- `strategy.py`: how a custom object is created, updated and written through /status;
- `tables.py`: Table columns from additionalPrinterColumns (`jsonpath.py` reads them);
- `openapi.py`: OpenAPI v2 and v3 of the custom kinds (kubectl explain, client validation);
- `schema.py`: the one import of the schema engine, `structural.py` (pruning, defaulting,
  OpenAPI validation, CEL rules; its helpers are the other modules here).
"""
