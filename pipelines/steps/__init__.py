"""The pipeline steps' core functions: plain Python over files, so they are unit-tested without KFP.

Each ``pipelines/components/<step>.py`` wraps one of these in a KFP component; this package (with
``pipelines.features`` and ``pipelines.ml``) is embedded into every component so it reaches the cluster.
"""
