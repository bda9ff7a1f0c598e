"""Supabase authentication: verify access tokens (HS256 secret or ES256/RS256 JWKS), mint local ones."""

from backend.auth.tokens import AUDIENCE, TokenVerifier, User, issuer_for, mint_dev_token

__all__ = ["AUDIENCE", "TokenVerifier", "User", "issuer_for", "mint_dev_token"]
