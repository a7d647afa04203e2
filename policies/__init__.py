"""The redaction policies shipped with Evidence Vault (YAML files beside this one)."""
