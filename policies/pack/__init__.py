"""The CrossGuard policy pack (``pulumi preview|up --policy-pack policies/pack``): see ``__main__.py``."""
