"""Platform services on every target: the Feast feature store, Kubeflow Pipelines and KServe model serving.

Cloud-specific data stores and identities live in :mod:`.aws`, :mod:`.azure` and :mod:`.onprem`; the in-cluster
parts (feature server, KFP, KServe) are the same everywhere. :mod:`.services` composes them for one stack.
"""
