"""Example inputs: certificates, keys for the demo TLS server, a declared inventory."""
