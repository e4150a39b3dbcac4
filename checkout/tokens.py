import secrets


def session_token_new() -> str:
    """The hosted page's unguessable token: 256 random bits, URL-safe (43 characters)."""
    return "cs_" + secrets.token_urlsafe(32)


def webhook_secret_new() -> str:
    return "whsec_" + secrets.token_urlsafe(32)
