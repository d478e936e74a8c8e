"""Model code shared by the KFP components and the benchmarks: preprocessing, the PyTorch model, training, metrics.

Only numpy, pandas and torch: these modules travel inside the components (``embedded_artifact_path``).
"""
