"""Secret-looking values in text from an image (history commands, ENV/ARG): recognised and masked.

Shared by ``advise`` (its findings quote commands) and the terminal report of ``analyze`` (its history column),
so a report pasted into a ticket does not leak a token.
"""

from __future__ import annotations

import re

# Words that make a variable name look like it holds a secret (API_KEY, NPM_TOKEN, DB_PASSWORD, ...).
SECRET_WORDS = r"(?:SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)"
_SECRET_NAME = rf"[A-Za-z0-9_.-]*{SECRET_WORDS}[A-Za-z0-9_.-]*"
_MASKS = (
    (
        re.compile(r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)", re.S),
        r"-----BEGIN \1PRIVATE KEY-----***",
    ),
    (re.compile(rf"(?i)({_SECRET_NAME}\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;&|\"'\\]+)"), r"\1***"),
    (re.compile(r"(?i)\b(password|passwd|_authToken|_auth)(\s+|\s*=\s*)(?!\*\*\*)[^\s;&|\"'\\]+"), r"\1\2***"),
    (re.compile(r"(?i)(\"(?:auth|password|identitytoken|registrytoken)\"\s*:\s*)\"[^\"]*\""), r'\1"***"'),
    (re.compile(r"(://[^/:@\s]+:)[^@\s/]+@"), r"\1***@"),
)


def redact(text: str) -> str:
    """``text`` with secret-looking values masked.

    Masked: private key blocks, ``NAME=value`` where NAME looks secret, passwords, credentials in URLs.
    """
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text
