"""Azure (pulumi-azure-native) components: foundation network, Key Vault + CMK, AKS, storage.

Each module imports only the azure-native submodules it needs (never the 330 MiB package root).
"""
