"""Zero-trust layers shared by every target: the service mesh (mTLS between platform services) and the enterprise
IdP's authentication in front of the ML control plane."""
