"""Security controls that span the platform's layers: the service mesh (mTLS, IdP authentication) and the admission
policies of the ML release path."""
