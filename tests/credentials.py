"""Credential files as the tools that issue them write them, with real keys made here (thrown away with the test).

``service_account_key()``: a Google Cloud service account key file, as the console and ``gcloud iam
service-accounts keys create`` write it (the fields in Google's order, two-space indent, an RSA key in PKCS #8
PEM inside a JSON string); ``sort_keys=True`` as ``jq -S`` or ``json.dumps(sort_keys=True)`` rewrites it, the
private key after the URLs. ``pem_private_key()``: a PEM private key made by ``cryptography``.
``WORKLOAD_IDENTITY``: a workload identity federation configuration (``"type": "external_account"``), which a
credential variable names as it names a key, and which holds no secret.
"""

from __future__ import annotations

import json
from functools import cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

_PKCS8 = serialization.PrivateFormat.PKCS8
_PEM = serialization.Encoding.PEM


@cache
def pem_private_key(kind: str = "rsa") -> str:
    """A fresh private key in PEM: ``rsa`` (2048 bits, PKCS #8: ``BEGIN PRIVATE KEY``, as Google issues them) or
    ``ec`` (P-256, SEC 1: ``BEGIN EC PRIVATE KEY``)."""
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key.private_bytes(_PEM, _PKCS8, serialization.NoEncryption()).decode()
    ec_key = ec.generate_private_key(ec.SECP256R1())
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    return ec_key.private_bytes(_PEM, traditional, serialization.NoEncryption()).decode()


def service_account_key(*, sort_keys: bool = False, project: str = "imgscope-demo-project-123456") -> bytes:
    """A service account key file of ``project`` (Google's field order unless ``sort_keys``)."""
    email = f"ci-deployer@{project}.iam.gserviceaccount.com"
    doc = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": "3f1c0e9b7a5d4c2e1f0a9b8c7d6e5f4a3b2c1d0e",
        "private_key": pem_private_key("rsa"),
        "client_email": email,
        "client_id": "104729384756102938475",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "client_x509_cert_url": f"https://www.googleapis.com/robot/v1/metadata/x509/{email.replace('@', '%40')}",
        "universe_domain": "googleapis.com",
    }
    return (json.dumps(doc, indent=2, sort_keys=sort_keys) + "\n").encode()


WORKLOAD_IDENTITY = json.dumps(
    {
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/1/locations/global/workloadIdentityPools/p/providers/q",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": "/var/run/secrets/tokens/gcp-ksa/token"},
    }
).encode()
