"""KFP v2 components, one per file; each wraps a core function from :mod:`pipelines.steps`."""
