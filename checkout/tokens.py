import base64
import re
import secrets

# What session_token_new makes (older tokens were the same shape). Anything else is not
# looked up at all: a NUL or a megabyte of junk never reaches the database.
SESSION_TOKEN_PATTERN = re.compile(r"cs_[A-Za-z0-9_-]{43}")


def session_token_well_formed(token: str) -> bool:
    return isinstance(token, str) and SESSION_TOKEN_PATTERN.fullmatch(token) is not None


def session_token_new() -> str:
    """The hosted page's unguessable token: 256 random bits, URL-safe (43 characters)."""
    return "cs_" + secrets.token_urlsafe(32)


def webhook_secret_new() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes (the HMAC key)."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


# The hosted invoice page's token: the same shape and strength, its own prefix.
INVOICE_TOKEN_PATTERN = re.compile(r"inv_[A-Za-z0-9_-]{43}")


def invoice_token_well_formed(token: str) -> bool:
    return isinstance(token, str) and INVOICE_TOKEN_PATTERN.fullmatch(token) is not None


def invoice_token_new() -> str:
    """The hosted invoice page's unguessable token: 256 random bits, URL-safe."""
    return "inv_" + secrets.token_urlsafe(32)
