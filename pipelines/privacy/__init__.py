"""Data-protection records and rights: records of processing per feature service, and erasure of a data subject."""
