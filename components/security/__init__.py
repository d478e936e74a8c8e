"""Security controls that span the platform's layers (admission policies for the ML release path)."""
